"""Turn a numpy array or an xarray.DataArray into a voxel array and its voxel size in µm.

A DataArray carries its voxel size in its coordinates (the format's ``z``, ``y``, ``x`` in
``um``); a numpy array gets it from the caller. Everything else in the package works on the pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ._errors import AnalysisError

__all__ = ["VoxelSize", "axis_index", "integer_labels", "voxel_grid"]

VoxelSize = float | Sequence[float] | None
MICROMETRE_UNITS = ("um", "µm", "micrometer", "micrometre")


def voxel_grid(
    data: np.ndarray | xr.DataArray, voxel_size_um: VoxelSize, what: str
) -> tuple[np.ndarray, tuple[float, ...] | None]:
    """The values of ``data`` and its voxel size along each axis (µm), or None when unknown.

    A DataArray's coordinates give the voxel size; ``voxel_size_um`` gives it for a numpy array
    (one number for cubic voxels, or one per axis). Giving both is an error, as is a coordinate
    that is not regularly spaced or not in micrometres.
    """
    if isinstance(data, xr.DataArray):
        if voxel_size_um is not None:
            raise AnalysisError(
                f"{what}: {data.name or 'the DataArray'} has coordinates; "
                "voxel_size_um is only for numpy arrays"
            )
        return np.asarray(data.values), _spacing_from_coords(data, what)
    values = np.asarray(data)
    if voxel_size_um is None:
        return values, None
    sizes = np.broadcast_to(np.asarray(voxel_size_um, dtype=np.float64), (values.ndim,))
    if not np.all(np.isfinite(sizes) & (sizes > 0)):
        raise AnalysisError(f"{what}: voxel_size_um must be positive, got {voxel_size_um!r}")
    return values, tuple(float(s) for s in sizes)


def _spacing_from_coords(data: xr.DataArray, what: str) -> tuple[float, ...] | None:
    steps = []
    for dim in data.dims:
        if dim not in data.coords or data.sizes[dim] < 2:
            return None
        coord = data.coords[dim]
        units = coord.attrs.get("units")
        if units is not None and units not in MICROMETRE_UNITS:
            raise AnalysisError(f"{what}: coordinate {dim!r} is in {units!r}; expected um")
        diffs = np.diff(np.asarray(coord.values, dtype=np.float64))
        if not np.allclose(diffs, diffs[0], rtol=1e-6) or diffs[0] <= 0:
            raise AnalysisError(
                f"{what}: coordinate {dim!r} is not increasing with one regular step"
            )
        steps.append(float(diffs[0]))
    return tuple(steps)


def axis_index(data: np.ndarray | xr.DataArray, axis: int | str, what: str) -> int:
    """An axis given as a number or, for a DataArray, as a dimension name, as a number."""
    ndim = np.ndim(data)
    if isinstance(axis, str):
        dims = tuple(str(d) for d in getattr(data, "dims", ()))
        if axis not in dims:
            raise AnalysisError(f"{what}: no dimension {axis!r}; the array has {dims}")
        return dims.index(axis)
    if not -ndim <= axis < ndim:
        raise AnalysisError(f"{what}: axis {axis} is out of range for {ndim} dimensions")
    return axis % ndim


def integer_labels(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` checked to be an integer label array."""
    if not np.issubdtype(values.dtype, np.integer):
        raise AnalysisError(f"{what}: expected integer labels, got dtype {values.dtype}")
    return values
