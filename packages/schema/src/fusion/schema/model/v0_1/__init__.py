"""Format 0.1 of fused multi-modal voxel datasets, frozen: models and vocabularies."""

from ._base import parse_attrs
from .channel import ChannelAttrs, CoordinateAttrs, check_unit
from .provenance import (
    ACTIVITY_TYPES,
    Activity,
    Agent,
    DatasetEntity,
    Entity,
    FileEntity,
    ModelEntity,
    Provenance,
    Software,
)
from .root import SCHEMA_ID, RootAttrs, Sample
from .vocabulary import (
    CHANNEL_DIMS,
    ELEMENTS,
    MODALITIES,
    ORIGINS,
    POINT_GROUPS,
    QUAT_COMPONENTS,
    SPATIAL_DIMS,
    UNITS,
)

__all__ = [
    "ACTIVITY_TYPES",
    "CHANNEL_DIMS",
    "ELEMENTS",
    "MODALITIES",
    "ORIGINS",
    "POINT_GROUPS",
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
