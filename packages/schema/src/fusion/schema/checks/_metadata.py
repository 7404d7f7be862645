"""Checks at level ``metadata``: attributes, dimensions, dtypes, shapes and the 1-D coordinates.

No channel values are read here; only the small coordinate arrays are, so the time taken
does not grow with the size of the volumes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..model._versions import ROOT_MODELS, SUPPORTED_SCHEMAS
from ..model.v0_1 import SPATIAL_DIMS, RootAttrs
from ..model.v0_2 import parse_attrs
from ..model.v0_3 import CHANNEL_DIMS, NEW_CHANNEL_DIMS
from ..store._source import GroupNode
from ._channel import (
    ChannelInfo,
    check_channel,
    check_channel_coord,
    check_spatial_coord,
    ctx_attribute,
    short,
)
from ._projection import check_projection_group, is_projection_group
from ._report import ValidationReport

__all__ = ["INCOMPLETE_MARKER", "SUPPORTED_SCHEMAS", "ChannelInfo", "check_metadata"]

SCHEMA_PATTERN = re.compile(r"^fusion/(\d+)\.(\d+)$")
INCOMPLETE_MARKER = "fusion_incomplete"


def check_metadata(root: GroupNode, report: ValidationReport) -> list[ChannelInfo]:
    """Run every metadata check; return the channels whose values the data level can check."""
    if root.zarr_format == 2:
        report.add("store.zarr-format", "/", "expected a Zarr format 3 store, found format 2")
    for path, what in root.consolidated_mismatches:
        report.add(
            "store.stale-consolidated",
            path,
            f"consolidated metadata and the node's zarr.json differ ({what}); "
            "re-run zarr.consolidate_metadata on the store",
        )
    if INCOMPLETE_MARKER in root.attrs:
        report.add(
            "root.incomplete-write",
            "/",
            f"a write started and did not finish ({root.attrs[INCOMPLETE_MARKER]!r}); "
            "the data may be partial: write the dataset again",
            attribute=INCOMPLETE_MARKER,
        )
    root_attrs = _check_root(root, report)
    if (
        root_attrs is None
        and report.errors
        and report.codes()
        & {
            "root.not-fusion",
            "root.schema-version",
        }
    ):
        return []
    activity_ids = _activity_ids(root, root_attrs)
    for name, array in root.arrays.items():
        report.add(
            "root.unexpected-array",
            array.path,
            f"found array {name!r} in the root group; put arrays in a scale group",
        )
    if not root.groups:
        report.add(
            "root.no-scale-groups",
            "/",
            "expected at least one child group on dims (z, y, x), found none",
        )
    channels: list[ChannelInfo] = []
    for group in root.groups.values():
        if is_projection_group(group):
            if report.schema_id == "fusion/0.1":
                report.add(
                    "group.requires-0.2",
                    group.path,
                    f"{group.path!r} has an `angle` coordinate (a projection group), which "
                    "fusion/0.1 does not define; declare schema 'fusion/0.2'",
                )
            channels.extend(check_projection_group(group, activity_ids, report))
        else:
            channels.extend(_check_scale_group(group, activity_ids, report))
    if root_attrs is not None:
        _check_provenance_links(root_attrs, channels, report)
    return channels


# -- root -------------------------------------------------------------------------------------


def _versions() -> str:
    """The schema versions this validator reads, for messages: ``'fusion/0.1' or 'fusion/0.2'``."""
    quoted = [repr(schema) for schema in SUPPORTED_SCHEMAS]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def _check_root(root: GroupNode, report: ValidationReport) -> RootAttrs | None:
    fusion = root.attrs.get("fusion")
    if fusion is None:
        report.add(
            "root.not-fusion",
            "/",
            "expected a `fusion` attribute on the root group (this validator reads schema "
            f"{_versions()}), found attributes {sorted(root.attrs)}",
            attribute="fusion",
        )
        return None
    if not isinstance(fusion, Mapping):
        report.add(
            "root.invalid-value",
            "/",
            f"expected `fusion` to be an object, found {type(fusion).__name__}",
            attribute="fusion",
        )
        return None
    schema = fusion.get("schema")
    match = SCHEMA_PATTERN.match(schema) if isinstance(schema, str) else None
    if match is None:
        report.add(
            "root.schema-version",
            "/",
            f"expected `schema` of the form 'fusion/MAJOR.MINOR' (one of {list(SUPPORTED_SCHEMAS)}), "
            f"found {schema!r}",
            attribute="fusion.schema",
        )
        return None
    report.schema_id = schema
    if schema not in ROOT_MODELS:
        report.add(
            "root.schema-version",
            "/",
            f"this validator knows {list(SUPPORTED_SCHEMAS)}; the store declares {schema!r}. "
            "Install a fusion-schema release that supports it",
            attribute="fusion.schema",
        )
        return None
    try:
        return parse_attrs(ROOT_MODELS[schema], fusion)
    except ValidationError as err:
        for error in err.errors():
            _report_root_error(error, report)
        return None


def _report_root_error(error: Mapping[str, Any], report: ValidationReport) -> None:
    loc = [str(part) for part in error["loc"]]
    section = "provenance" if loc and loc[0] == "provenance" else "root"
    kind = error["type"]
    if kind == "dangling_reference":
        code = "provenance.dangling-reference"
    elif kind == "time_order":
        code = f"{section}.time-order"
    elif kind == "missing":
        code = f"{section}.missing-field"
    elif kind == "extra_forbidden":
        code = f"{section}.unknown-field"
    else:
        code = f"{section}.invalid-value"
    attribute = ".".join(["fusion", *loc, *ctx_attribute(error)])
    found = short(error.get("input"))
    message = (
        error["msg"]
        if kind in ("missing", "dangling_reference", "time_order")
        else (f"{error['msg']}; found {found}")
    )
    report.add(code, "/", message, attribute=attribute)


def _activity_ids(root: GroupNode, root_attrs: RootAttrs | None) -> set[str] | None:
    """Activity ids to check channel references against; None when they cannot be known."""
    if root_attrs is not None:
        return set(root_attrs.provenance.activities)
    fusion = root.attrs.get("fusion")
    provenance = fusion.get("provenance") if isinstance(fusion, Mapping) else None
    activities = provenance.get("activities") if isinstance(provenance, Mapping) else None
    return {str(k) for k in activities} if isinstance(activities, Mapping) else None


def _check_provenance_links(
    root_attrs: RootAttrs, channels: list[ChannelInfo], report: ValidationReport
) -> None:
    present = {c.array.path for c in channels}
    for channel in channels:
        if channel.attrs is None:
            continue
        activity = root_attrs.provenance.activities.get(channel.attrs.provenance)
        if activity is not None and channel.array.path not in activity.generated:
            report.add(
                "provenance.not-generated",
                channel.array.path,
                f"activity {channel.attrs.provenance!r} does not list {channel.array.path!r} "
                "in `generated`",
                attribute="provenance",
            )
    for act_id, activity in root_attrs.provenance.activities.items():
        for path in activity.used:
            if path.startswith("/") and path not in present:
                report.add(
                    "provenance.missing-channel",
                    "/",
                    f"activity {act_id!r} used {path!r}, which is not a channel of this dataset",
                    attribute=f"fusion.provenance.activities.{act_id}.used",
                )
        for path in activity.generated:
            if path not in present:
                report.add(
                    "provenance.missing-channel",
                    "/",
                    f"activity {act_id!r} generated {path!r}, which is not a channel of this "
                    "dataset",
                    attribute=f"fusion.provenance.activities.{act_id}.generated",
                )


# -- scale groups and coordinates -------------------------------------------------------------


def _check_scale_group(
    group: GroupNode, activity_ids: set[str] | None, report: ValidationReport
) -> list[ChannelInfo]:
    for child in group.groups.values():
        report.add(
            "group.nested",
            child.path,
            f"scale group {group.path!r} holds sub-group {child.path!r}; 0.1 allows one "
            "level of scale groups under the root",
        )
    lengths = {dim: check_spatial_coord(group, dim, report) for dim in SPATIAL_DIMS}
    extra_coords = {
        dim: check_channel_coord(group, dim, report) for dim in CHANNEL_DIMS if dim in group.arrays
    }
    channels = []
    for array in group.arrays.values():
        if array.is_coordinate or array.name in SPATIAL_DIMS or array.name in CHANNEL_DIMS:
            continue
        info = check_channel(array, group, lengths, extra_coords, activity_ids, report)
        if info is not None:
            channels.append(info)
            _check_version_of_dim(info, report)
    return channels


def _check_version_of_dim(info: ChannelInfo, report: ValidationReport) -> None:
    """A channel dimension 0.3 adds, in a store that declares an earlier version."""
    if info.extra_dim in NEW_CHANNEL_DIMS and report.schema_id in ("fusion/0.1", "fusion/0.2"):
        report.add(
            "channel.requires-0.3",
            info.array.path,
            f"{info.array.path!r} is on dim {info.extra_dim!r}, which {report.schema_id} does "
            "not define; declare schema 'fusion/0.3'",
        )
