"""Connected components of a voxel grid whose neighbour pairs are joined or not.

One helper serves three jobs: pixels of an EBSD map joined below a misorientation threshold
(grains), voxels of one phase (particles), and voxels of one grain within a slice (grain
sections). Neighbours are face neighbours (4 in 2D, 6 in 3D).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

__all__ = ["components", "equal_neighbours", "pair_slices", "relabel", "section_diameters_um"]


def pair_slices(ndim: int, axis: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Index expressions of the lower and upper member of every neighbour pair along ``axis``."""
    lower = tuple(slice(None, -1) if a == axis else slice(None) for a in range(ndim))
    upper = tuple(slice(1, None) if a == axis else slice(None) for a in range(ndim))
    return lower, upper


def components(shape: tuple[int, ...], joins: Mapping[int, np.ndarray]) -> np.ndarray:
    """Component index (0, 1, ...) of every voxel of a grid of ``shape``.

    ``joins[axis]`` is a boolean array one shorter than ``shape`` along ``axis``: True where a
    voxel and its next neighbour along ``axis`` belong together. Axes not in ``joins`` join
    nothing. Components are numbered in raster order of their first voxel.
    """
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    rows, cols = [], []
    for axis, join in joins.items():
        lower, upper = pair_slices(len(shape), axis)
        rows.append(index[lower][join])
        cols.append(index[upper][join])
    rows_all = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    cols_all = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    graph = coo_array(
        (np.ones(rows_all.size, dtype=np.int8), (rows_all, cols_all)), shape=(size, size)
    )
    _, labels = connected_components(graph, directed=False)
    return labels.reshape(shape)


def equal_neighbours(labels: np.ndarray, axes: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Joins between neighbours along ``axes`` that hold the same non-zero label."""
    joins = {}
    for axis in axes:
        lower, upper = pair_slices(labels.ndim, axis)
        joins[axis] = (labels[lower] == labels[upper]) & (labels[lower] != 0)
    return joins


def relabel(component: np.ndarray, keep: np.ndarray, min_size: int = 1) -> np.ndarray:
    """Labels 1..n for the components of at least ``min_size`` voxels inside ``keep``, in
    raster order of their first voxel; 0 for everything else."""
    inside = np.where(keep, component, -1).ravel()
    sizes = np.bincount(inside[inside >= 0], minlength=int(component.max()) + 1)
    _, first = np.unique(inside, return_index=True)
    order = [c for c in inside[np.sort(first)] if c >= 0 and sizes[c] >= min_size]
    table = np.zeros(sizes.size + 1, dtype=np.int64)  # last entry: the -1 of voxels outside
    table[np.asarray(order, dtype=np.int64)] = np.arange(1, len(order) + 1)
    return table[inside].reshape(component.shape)


def section_diameters_um(
    grain_id: np.ndarray, spacing_um: tuple[float, float, float], min_area_um2: float = 0.0
) -> np.ndarray:
    """Equivalent diameters (µm) of the grain sections on every slice along z, y and x.

    A section is a connected piece (4 neighbours) of one grain within one slice, as a grain of
    an EBSD map is; sections under ``min_area_um2`` are left out.
    """
    diameters = []
    for normal in range(3):
        in_plane = tuple(a for a in range(3) if a != normal)
        sections = components(grain_id.shape, equal_neighbours(grain_id, in_plane))
        pixels = np.bincount(sections[grain_id > 0])
        areas = pixels[pixels > 0] * spacing_um[in_plane[0]] * spacing_um[in_plane[1]]
        diameters.append(np.sqrt(4 * areas[areas >= min_area_um2] / np.pi))
    return np.concatenate(diameters)
