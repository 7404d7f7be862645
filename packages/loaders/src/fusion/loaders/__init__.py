"""fusion.loaders: instrument files (SEM, XCT, EBSD, EELS, EDS) and OME-Zarr images into the
fused voxel format.

Each technique is a module with one loader class, registered in the ``fusion.loaders``
entry-point group. Every loader uses the field's maintained reader (tifffile, RosettaSciIO,
orix, h5py, olefile), returns an ``xarray.DataTree`` that validates at level ``data`` with
coordinates in micrometres, a provenance entity for the file (sha256, size) and a ``load``
activity naming the reader and its version, and keeps the instrument's own metadata as JSON
in each channel's ``original_metadata`` attribute.
"""

from ._base import (
    Loader,
    LoaderError,
    LoaderWarning,
    NoSignalError,
    available_loaders,
    choose_loader,
    load,
)

__all__ = [
    "Loader",
    "LoaderError",
    "LoaderWarning",
    "NoSignalError",
    "available_loaders",
    "choose_loader",
    "load",
]
