"""The OME-Zarr view of a fused dataset (spec/fusion-ome-1.md): `export_ome_zarr` writes it,
the validator checks it (``ome.*`` codes) when given a view."""

from ._export import OME_VIEW_ATTRIBUTE, OME_VIEW_FORMAT, OmeExport, export_ome_zarr
from ._pyramid import PYRAMID_SIDE, level_shapes, reduce_block

__all__ = [
    "OME_VIEW_ATTRIBUTE",
    "OME_VIEW_FORMAT",
    "PYRAMID_SIDE",
    "OmeExport",
    "export_ome_zarr",
    "level_shapes",
    "reduce_block",
]
