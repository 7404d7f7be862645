"""Checks of coordinates and channels, shared by scale groups and projection groups.

Only the small 1-D coordinate arrays are read here; channel values are the data level's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..model.v0_1 import (
    ELEMENTS,
    QUAT_COMPONENTS,
    SPATIAL_DIMS,
    ChannelAttrs,
    CoordinateAttrs,
    parse_attrs,
)
from ..model.v0_3 import CHANNEL_DIMS
from ..store._source import ArrayNode, GroupNode
from ._report import ValidationReport

__all__ = [
    "ChannelInfo",
    "check_channel",
    "check_channel_coord",
    "check_coordinate_values",
    "check_spatial_coord",
    "ctx_attribute",
    "short",
]

SPACING_RTOL = 1e-6
SCALE_LAYOUTS: tuple[tuple[str, ...], ...] = (SPATIAL_DIMS,)


COORDINATE_CODES = {
    "quat": "orientation.quat-coordinate",
    "element": "composition.element-coordinate",
    "energy_loss": "energy-loss.coordinate",
    "xray_energy": "xray-energy.coordinate",
}
"""The finding for a missing or malformed coordinate of each channel dimension."""


class ChannelInfo:
    """What the data checks need to know about a channel that passed its metadata checks."""

    def __init__(self, array: ArrayNode, attrs: ChannelAttrs | None, extra_dim: str | None):
        self.array = array
        self.attrs = attrs
        self.extra_dim = extra_dim


def check_spatial_coord(group: GroupNode, dim: str, report: ValidationReport) -> int | None:
    array = group.arrays.get(dim)
    if array is None:
        report.add(
            "coords.missing",
            group.path,
            f"expected a coordinate array {dim!r} (float64, micrometres) in scale group "
            f"{group.path!r}, found arrays {sorted(group.arrays)}",
        )
        return None
    if array.dims != (dim,) or len(array.shape) != 1:
        report.add(
            "coords.shape",
            array.path,
            f"expected a 1-D array on dimension ({dim!r},), found dims {array.dims} "
            f"and shape {array.shape}",
        )
        return None
    if array.dtype != np.float64:
        report.add("coords.dtype", array.path, f"expected dtype float64, found {array.dtype}")
    try:
        parse_attrs(CoordinateAttrs, array.attrs)
    except ValidationError as err:
        for error in err.errors():
            field = ".".join(str(p) for p in error["loc"]) or None
            if field == "units":
                message = f"expected units 'um' (micrometres), found {array.attrs.get('units')!r}"
            else:
                message = f"{error['msg']}; found {short(error.get('input'))}"
            report.add("coords.units", array.path, message, attribute=field)
    check_coordinate_values(array, report, require_regular=True)
    return array.shape[0]


def check_coordinate_values(
    array: ArrayNode, report: ValidationReport, *, require_regular: bool
) -> np.ndarray | None:
    if array.dtype is None or array.dtype.kind not in "iuf":
        return None
    values = array.read((slice(None),)).astype(np.float64)
    if not np.isfinite(values).all():
        report.add("coords.not-finite", array.path, "expected finite positions, found NaN or inf")
        return None
    steps = np.diff(values)
    if steps.size and not (steps > 0).all():
        first = int(np.argmax(steps <= 0))
        report.add(
            "coords.not-increasing",
            array.path,
            f"expected strictly increasing values, found {values[first]!r} followed by "
            f"{values[first + 1]!r} at index {first + 1}",
        )
        return None
    if require_regular and steps.size > 1:
        mean = (values[-1] - values[0]) / steps.size
        worst = float(np.max(np.abs(steps - mean)))
        if worst > SPACING_RTOL * abs(mean):
            report.add(
                "coords.irregular-spacing",
                array.path,
                f"expected regular spacing (voxel size {mean:.6g} um within a relative "
                f"{SPACING_RTOL:g}), found steps deviating by up to {worst:.3g} um",
            )
    return values


def check_channel_coord(group: GroupNode, dim: str, report: ValidationReport) -> int | None:
    array = group.arrays[dim]
    if array.dims != (dim,) or len(array.shape) != 1:
        report.add(
            COORDINATE_CODES[dim],
            array.path,
            f"expected a 1-D array on ({dim!r},), found {array.dims}",
        )
        return None
    if dim in ("energy_loss", "xray_energy"):
        code = COORDINATE_CODES[dim]
        if array.attrs.get("units") != "eV":
            report.add(
                code,
                array.path,
                f"expected units 'eV', found {array.attrs.get('units')!r}",
                attribute="units",
            )
        if array.dtype is None or array.dtype.kind != "f":
            report.add(code, array.path, f"expected floats, found {array.dtype}")
        elif check_coordinate_values(array, report, require_regular=False) is None:
            report.add(code, array.path, "expected finite, strictly increasing energies")
        return array.shape[0]
    values = [str(v) for v in array.read((slice(None),)).tolist()]
    if dim == "quat" and values != list(QUAT_COMPONENTS):
        report.add(
            "orientation.quat-coordinate",
            array.path,
            f"expected components {list(QUAT_COMPONENTS)}, found {values}",
        )
    if dim == "element":
        unknown = [v for v in values if v not in ELEMENTS]
        if unknown or len(set(values)) != len(values):
            report.add(
                "composition.element-coordinate",
                array.path,
                f"expected unique element symbols (e.g. 'Ni', 'O'), found {values}",
            )
    return array.shape[0]


# -- channels ---------------------------------------------------------------------------------


def check_channel(
    array: ArrayNode,
    group: GroupNode,
    lengths: Mapping[str, int | None],
    extra_coords: Mapping[str, int | None],
    activity_ids: set[str] | None,
    report: ValidationReport,
    layouts: tuple[tuple[str, ...], ...] = SCALE_LAYOUTS,
) -> ChannelInfo | None:
    """Check one channel; ``layouts`` are the leading dims it may have (scale: (z, y, x)).

    Extra trailing channel dims (quat, element, energy_loss, and from 0.3 xray_energy) are
    allowed in scale groups only.
    """
    path = array.path
    if array.dtype is None or array.dtype.kind not in "biuf":
        report.add(
            "channel.dtype",
            path,
            f"expected a boolean, integer or floating-point type, found {array.dtype}",
        )
        return None
    extra_dim = _check_channel_dims(array, lengths, extra_coords, report, layouts)
    attrs = _validate_channel_attrs(array, report)
    if attrs is None:
        return ChannelInfo(array, None, extra_dim) if extra_dim != "?" else None
    if activity_ids is not None and attrs.provenance not in activity_ids:
        report.add(
            "channel.provenance",
            path,
            f"expected the id of an activity in the provenance graph "
            f"({sorted(activity_ids)}), found {attrs.provenance!r}",
            attribute="provenance",
        )
    if attrs.flag_values is not None:
        _check_label_channel(array, attrs, report)
    if extra_dim == "quat":
        _check_orientation_channel(array, attrs, group, report)
    if extra_dim == "element" and attrs.units != "1":
        report.add(
            "composition.units",
            path,
            f"expected units '1' (fractions), found {attrs.units!r}",
            attribute="units",
        )
    if extra_dim == "?":
        return None
    return ChannelInfo(array, attrs, extra_dim)


def _check_channel_dims(
    array: ArrayNode,
    lengths: Mapping[str, int | None],
    extra_coords: Mapping[str, int | None],
    report: ValidationReport,
    layouts: tuple[tuple[str, ...], ...],
) -> str | None:
    """Check dims and shape; return the extra channel dim, None, or '?' when unusable."""
    dims = array.dims
    if dims is None:
        report.add(
            "channel.dims",
            array.path,
            "expected dimension names (zarr v3 `dimension_names`), found none",
        )
        return "?"
    allow_extra = layouts == SCALE_LAYOUTS
    if dims[:3] not in layouts or len(dims) > (4 if allow_extra else 3):
        expected = " or ".join(str(layout) for layout in layouts)
        tail = f" optionally followed by one of {sorted(CHANNEL_DIMS)}" if allow_extra else ""
        report.add("channel.dims", array.path, f"expected dims {expected}{tail}, found {dims}")
        return "?"
    extra = dims[3] if len(dims) == 4 else None
    if extra is not None and extra not in CHANNEL_DIMS:
        report.add(
            "channel.dims",
            array.path,
            f"expected the fourth dim to be one of {sorted(CHANNEL_DIMS)}, found {extra!r}",
        )
        return "?"
    expected = [lengths.get(d) for d in dims[:3]]
    if extra is not None:
        if extra not in extra_coords:
            report.add(
                COORDINATE_CODES[extra],
                array.path,
                f"channel is on dim {extra!r} but the group has no {extra!r} coordinate",
            )
            return "?"
        expected.append(extra_coords[extra])
    for dim, want, got in zip(dims, expected, array.shape, strict=True):
        if want is not None and want != got:
            report.add(
                "channel.shape",
                array.path,
                f"expected length {want} along {dim!r} (the coordinate's length), found {got}",
            )
            return "?"
    return extra


def _validate_channel_attrs(array: ArrayNode, report: ValidationReport) -> ChannelAttrs | None:
    try:
        return parse_attrs(ChannelAttrs, array.attrs)
    except ValidationError as err:
        for error in err.errors():
            loc = [str(p) for p in error["loc"]]
            field = loc[0] if loc else next(iter(ctx_attribute(error)), None)
            report.add(
                _channel_code(error["type"], field),
                array.path,
                _channel_message(error, field),
                attribute=field,
            )
        return None


def _channel_code(kind: str, field: str | None) -> str:
    if kind == "missing":
        return "channel.missing-attribute"
    if kind.startswith("unit_"):
        return "channel.units"
    if kind.startswith("flags_") or field in ("flag_values", "flag_meanings", "flag_colors"):
        return "labels.flags"
    if field == "modality":
        return "channel.modality"
    if field == "origin":
        return "channel.origin"
    if field == "crystal_symmetry":
        return "orientation.symmetry"
    if field == "rotation":
        return "orientation.rotation"
    return "channel.invalid-attribute"


def _channel_message(error: Mapping[str, Any], field: str | None) -> str:
    if error["type"] == "missing":
        return f"expected attribute {field!r}, found none"
    if error["type"].startswith(("unit_", "flags_")):
        return str(error["msg"])
    return f"{error['msg']}; found {short(error.get('input'))}"


def _check_label_channel(array: ArrayNode, attrs: ChannelAttrs, report: ValidationReport) -> None:
    assert array.dtype is not None and attrs.flag_values is not None
    if array.dtype.kind not in "iu":
        report.add(
            "labels.dtype",
            array.path,
            f"expected an integer type for a label channel, found {array.dtype}",
        )
        return
    if attrs.units != "1":
        report.add(
            "labels.units",
            array.path,
            f"expected units '1' for labels, found {attrs.units!r}",
            attribute="units",
        )
    info = np.iinfo(array.dtype)
    outside = [v for v in attrs.flag_values if not info.min <= v <= info.max]
    if outside:
        report.add(
            "labels.flag-range",
            array.path,
            f"flag values {outside} do not fit in {array.dtype} [{info.min}, {info.max}]",
            attribute="flag_values",
        )


def _check_orientation_channel(
    array: ArrayNode, attrs: ChannelAttrs, group: GroupNode, report: ValidationReport
) -> None:
    assert array.dtype is not None
    if array.dtype not in (np.float32, np.float64):
        report.add(
            "orientation.dtype",
            array.path,
            f"expected float32 or float64 quaternions, found {array.dtype}",
        )
    if attrs.rotation is None:
        report.add(
            "orientation.rotation",
            array.path,
            "expected attribute rotation: 'crystal_to_sample', found none",
            attribute="rotation",
        )
    if not attrs.crystal_symmetry:
        report.add(
            "orientation.symmetry",
            array.path,
            "expected crystal_symmetry naming the point group of each phase "
            "(e.g. {'NMC': '-3m'}), found none",
            attribute="crystal_symmetry",
        )
        return
    if attrs.phase_channel is None:
        return
    phases = group.arrays.get(attrs.phase_channel)
    names = _label_names(phases) if phases is not None else None
    if names is None:
        report.add(
            "orientation.phase-channel",
            array.path,
            f"expected {attrs.phase_channel!r} to be a label channel of {group.path!r}",
            attribute="phase_channel",
        )
        return
    unknown = sorted(set(attrs.crystal_symmetry) - set(names))
    if unknown:
        report.add(
            "orientation.phase-channel",
            array.path,
            f"crystal_symmetry names phases {unknown} that {attrs.phase_channel!r} does not "
            f"list (its flag_meanings are {names})",
            attribute="crystal_symmetry",
        )


def _label_names(array: ArrayNode) -> list[str] | None:
    """Phase names of a label channel (integer, with flag_values and flag_meanings), else None."""
    if array.dtype is None or array.dtype.kind not in "iu":
        return None
    try:
        return list(parse_attrs(ChannelAttrs, array.attrs).phase_names.values()) or None
    except ValidationError:
        return None


def ctx_attribute(error: Mapping[str, Any]) -> list[str]:
    """The attribute a model-level error names in its context, as a one-element list or []."""
    ctx = error.get("ctx") or {}
    attribute = ctx.get("attribute")
    return [str(attribute)] if attribute else []


def short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
