"""Format 0.2 of fused multi-modal voxel datasets, frozen: 0.1 plus projection groups.

Everything of 0.1 holds unchanged (the models below are 0.1's), except that the root declares
``schema: fusion/0.2`` and a child group may also be a *projection group*: raw X-ray
projections on dims (angle, y, x) with their flat- and dark-field frames, kept beside the
voxel scale groups because projections are not voxels.
"""

from typing import Literal

from pydantic import Field

from ..v0_1 import (
    ACTIVITY_TYPES,
    CHANNEL_DIMS,
    ELEMENTS,
    MODALITIES,
    ORIGINS,
    POINT_GROUPS,
    QUAT_COMPONENTS,
    SPATIAL_DIMS,
    UNITS,
    Activity,
    Agent,
    ChannelAttrs,
    CoordinateAttrs,
    DatasetEntity,
    Entity,
    FileEntity,
    ModelEntity,
    Provenance,
    Sample,
    Software,
    check_unit,
    parse_attrs,
)
from ..v0_1 import RootAttrs as RootAttrs01

__all__ = [
    "ACTIVITY_TYPES",
    "CHANNEL_DIMS",
    "ELEMENTS",
    "MODALITIES",
    "ORIGINS",
    "POINT_GROUPS",
    "PROJECTION_LAYOUTS",
    "QUAT_COMPONENTS",
    "SCHEMA_ID",
    "SPATIAL_DIMS",
    "UNITS",
    "Activity",
    "Agent",
    "ChannelAttrs",
    "CoordinateAttrs",
    "DatasetEntity",
    "Entity",
    "FileEntity",
    "ModelEntity",
    "Provenance",
    "RootAttrs",
    "Sample",
    "Software",
    "check_unit",
    "parse_attrs",
]

SCHEMA_ID = "fusion/0.2"
"""The value of ``schema`` in every store written to this version of the format."""

PROJECTION_LAYOUTS: dict[tuple[str, str, str], str] = {
    ("angle", "y", "x"): "projections, one image per rotation angle",
    ("flat", "y", "x"): "flat-field (open beam) reference frames",
    ("dark", "y", "x"): "dark-field (beam off) reference frames",
}
"""Dimensions a channel of a projection group may have, with their meaning."""


class RootAttrs(RootAttrs01):
    """Everything under the root group's ``fusion`` attribute (format 0.2)."""

    schema_id: Literal["fusion/0.2"] = Field(alias="schema")  # type: ignore[assignment]
    """Format identifier and version, ``fusion/0.2``. Readers dispatch on it."""
