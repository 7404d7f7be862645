"""Checks of projection groups (format 0.2): raw projections on (angle, y, x) plus references."""

from __future__ import annotations

import numpy as np

from ..model.v0_2 import PROJECTION_LAYOUTS
from ..store._source import ArrayNode, GroupNode
from ._channel import (
    ChannelInfo,
    check_channel,
    check_spatial_coord,
)
from ._report import ValidationReport

__all__ = ["check_projection_group", "is_projection_group"]

ANGLE = "angle"


def is_projection_group(group: GroupNode) -> bool:
    """A child group with an ``angle`` array is a projection group."""
    return ANGLE in group.arrays


def check_projection_group(
    group: GroupNode, activity_ids: set[str] | None, report: ValidationReport
) -> list[ChannelInfo]:
    """Check coordinates (angle in degrees; y, x as in scale groups) and every channel."""
    for child in group.groups.values():
        report.add(
            "group.nested",
            child.path,
            f"projection group {group.path!r} holds sub-group {child.path!r}",
        )
    lengths = {
        ANGLE: _check_angle(group.arrays[ANGLE], report),
        "y": check_spatial_coord(group, "y", report),
        "x": check_spatial_coord(group, "x", report),
    }
    channels = []
    for array in group.arrays.values():
        if array.is_coordinate or array.name in (ANGLE, "y", "x"):
            continue
        info = check_channel(
            array, group, lengths, {}, activity_ids, report, layouts=tuple(PROJECTION_LAYOUTS)
        )
        if info is not None:
            channels.append(info)
    return channels


def _check_angle(array: ArrayNode, report: ValidationReport) -> int | None:
    if array.dims != (ANGLE,) or len(array.shape) != 1:
        report.add(
            "projections.angle",
            array.path,
            f"expected a 1-D array on dimension ('angle',), found dims {array.dims}",
        )
        return None
    if array.dtype != np.float64:
        report.add("projections.angle", array.path, f"expected float64, found {array.dtype}")
    if array.attrs.get("units") != "degree":
        report.add(
            "projections.angle",
            array.path,
            f"expected units 'degree', found {array.attrs.get('units')!r}",
            attribute="units",
        )
    if array.dtype is not None and array.dtype.kind in "iuf":
        values = array.read((slice(None),))
        if not np.isfinite(values).all():
            report.add("projections.angle", array.path, "expected finite angles, found NaN or inf")
    return array.shape[0]
