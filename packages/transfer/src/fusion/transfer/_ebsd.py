"""Grains of a real EBSD map, 2-D or serial sections in 3-D, found by misorientation with the
crystal symmetry.

Two face-neighbouring pixels of the chosen phase belong to one grain when orix's symmetry
reduced misorientation angle between them is below the threshold; grains are the connected
components of that neighbour graph (the usual flood-fill definition). In a 3-D volume
(``fusion load ebsd S*.ANG --slice-spacing UM``) neighbours across sections count too (6 face
neighbours), so a grain is one 3-D body. Grains smaller than ``min_pixels`` pixels (voxels in
3-D: misindexed points, noise) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ._components import components, pair_slices, relabel, section_diameters_um
from ._errors import TransferError
from ._provenance import source_file, title
from ._quaternions import as_orix, nearest_equivalent, orix_symmetry, positive_w, proper_operations

__all__ = ["GrainMap", "ebsd_grains"]

MEAN_PASSES = 2
"""Passes of the grain mean: reference = first pixel, then the previous pass's mean."""


@dataclass(frozen=True)
class GrainMap:
    """Grains of a real 2D EBSD map."""

    labels: np.ndarray
    """(y, x) int, or (z, y, x) for a 3-D volume: grain k (1..n); 0 = not indexed, other
    phase, or dropped grain."""
    orientations: np.ndarray
    """(n, 4) float: mean orientation of grain k at row k-1, quaternion w, x, y, z, w >= 0,
    crystal-to-sample."""
    equivalent_diameters_um: np.ndarray
    """Diameters (µm) of the circles of the grain sections a map shows: for a 2-D map one per
    grain, (n,); for a 3-D volume one per section of a grain in each slice along z, y and x
    of at least ``min_pixels`` pixels (what `grow_grains` compares a grown volume's sections
    with)."""
    pixel_size_um: float
    """Step of the map, µm."""
    point_group: str
    """Point group (Laue class, as the loader records it) of the phase, e.g. ``'6/mmm'``."""
    source: str
    """Name of the EBSD file."""
    min_pixels: int = 1
    """Smallest grain kept, in pixels."""
    phase: str = ""
    """Flag word of the phase the grains belong to."""
    slice_spacing_um: float | None = None
    """Distance between the sections of a 3-D volume, µm; None for a 2-D map."""

    @property
    def areas_px(self) -> np.ndarray:
        """(n,) pixels (voxels, in 3-D) of each grain."""
        return np.bincount(self.labels.ravel(), minlength=len(self.orientations) + 1)[1:]

    @property
    def min_area_um2(self) -> float:
        """Area of the smallest grain the map keeps, µm²: sections below it are not grains."""
        return self.min_pixels * self.pixel_size_um**2


def ebsd_grains(
    ebsd: xr.DataTree,
    *,
    threshold_deg: float = 5.0,
    phase: str | None = None,
    min_pixels: int = 5,
    group: str = "ebsd",
) -> GrainMap:
    """Find the grains of one phase of a loaded EBSD map.

    Parameters
    ----------
    ebsd
        A tree from ``fusion.loaders.load("ebsd", ...)``: ``phase`` and ``orientation`` channels
        on one z plane (a map) or several (serial sections), provenance naming the file.
    threshold_deg
        Largest misorientation (degrees) between neighbouring pixels of one grain.
    phase
        The phase, by its flag word (``Magnesium``) or verbatim name; by default the phase with
        the most indexed pixels.
    min_pixels
        Smallest grain kept.
    group
        The map's group in ``ebsd``.

    Raises
    ------
    TransferError
        No such group or phase, no indexed pixel of the phase, or no grain of ``min_pixels``.
    """
    if not 0 < threshold_deg < 180:
        raise ValueError(f"threshold_deg must lie in (0, 180), got {threshold_deg}")
    ds = _map_group(ebsd, group)
    source = source_file(ebsd, f"/{group}/orientation").name
    word, value = _choose_phase(ds, phase, source)
    point_group = ds.orientation.attrs["crystal_symmetry"][word]
    if orix_symmetry(point_group) is None:
        raise TransferError(f"{source}: point group {point_group!r} of {word!r} unknown to orix")
    volume = ds.sizes["z"] > 1
    quats = np.asarray(ds.orientation.values, dtype=np.float64)  # (z, y, x, 4)
    inside = (np.asarray(ds.phase.values) == value) & np.isfinite(quats).all(axis=-1)
    if not volume:
        quats, inside = quats[0], inside[0]
    if not inside.any():
        raise TransferError(f"{source}: no indexed pixel of phase {word!r}")
    joins = _joins(quats, inside, point_group, threshold_deg)
    labels = relabel(components(inside.shape, joins), inside, min_pixels)
    if labels.max() == 0:
        raise TransferError(
            f"{source}: no grain of phase {word!r} has {min_pixels} pixels or more "
            f"({int(inside.sum())} indexed pixels, threshold {threshold_deg} degrees)"
        )
    pixel = _pixel_size_um(ds, source)
    spacing = float(np.mean(np.diff(ds.z.values))) if volume else None
    if volume:
        diameters = section_diameters_um(labels, (spacing, pixel, pixel), min_pixels * pixel**2)
    else:
        diameters = np.sqrt(4 * np.bincount(labels.ravel())[1:] * pixel**2 / np.pi)
    return GrainMap(
        labels=labels,
        orientations=_grain_means(quats, labels, point_group),
        equivalent_diameters_um=diameters,
        pixel_size_um=pixel,
        point_group=point_group,
        source=source,
        min_pixels=min_pixels,
        phase=word,
        slice_spacing_um=spacing,
    )


def _map_group(ebsd: xr.DataTree, group: str) -> xr.Dataset:
    source = title(ebsd)  # the loaders' title: the file name
    if group not in ebsd.children:
        raise TransferError(f"{source}: no group {group!r}; groups: {sorted(ebsd.children)}")
    ds = ebsd[group].to_dataset(inherit=False)
    missing = [name for name in ("phase", "orientation") if name not in ds]
    if missing:
        raise TransferError(f"{source}: group {group!r} has no {' or '.join(missing)} channel")
    return ds


def _choose_phase(ds: xr.Dataset, phase: str | None, source: str) -> tuple[str, int]:
    """(flag word, flag value) of the requested phase, or of the most frequent one."""
    attrs = ds.phase.attrs
    values = dict(zip(attrs["flag_meanings"].split(), attrs["flag_values"], strict=True))
    symmetric = ds.orientation.attrs.get("crystal_symmetry", {})
    words = [word for word in values if word in symmetric]
    if phase is None:
        ids = np.asarray(ds.phase.values)
        word = max(words, key=lambda w: np.count_nonzero(ids == values[w]), default=None)
        if word is None:
            raise TransferError(f"{source}: no crystalline phase in the map")
        return word, values[word]
    verbatim: Mapping[str, str] = attrs.get("phase_names", {})
    by_name = {name: word for word, name in verbatim.items()}
    word = phase if phase in words else by_name.get(phase)
    if word is None:
        raise TransferError(f"{source}: no phase {phase!r}; phases: {words}")
    return word, values[word]


def _joins(
    quats: np.ndarray, inside: np.ndarray, point_group: str, threshold_deg: float
) -> dict[int, np.ndarray]:
    """Neighbour pairs (along every axis: y and x, and z in 3-D) inside the phase and
    misoriented below the threshold."""
    joins = {}
    for axis in range(inside.ndim):
        lower, upper = pair_slices(inside.ndim, axis)
        both = inside[lower] & inside[upper]
        angles = as_orix(quats[lower][both], point_group).angle_with(
            as_orix(quats[upper][both], point_group), degrees=True
        )
        join = np.zeros(both.shape, dtype=bool)
        join[both] = angles < threshold_deg
        joins[axis] = join
    return joins


def _grain_means(quats: np.ndarray, labels: np.ndarray, point_group: str) -> np.ndarray:
    """Mean orientation of each grain: every pixel mapped to its symmetry equivalent nearest
    the grain's reference, summed with one sign, normalised (the chordal L2 mean)."""
    operations = proper_operations(point_group)
    grain = labels.ravel()
    pixels = quats.reshape(-1, 4)[grain > 0]
    grain = grain[grain > 0] - 1
    n = int(grain.max()) + 1
    _, first = np.unique(grain, return_index=True)
    means = pixels[first]
    for _ in range(MEAN_PASSES):
        aligned = nearest_equivalent(pixels, means[grain], operations)
        sums = np.zeros((n, 4))
        np.add.at(sums, grain, aligned)
        means = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return positive_w(means)


def _pixel_size_um(ds: xr.Dataset, source: str) -> float:
    steps = {dim: np.diff(ds[dim].values) for dim in ("y", "x") if ds.sizes[dim] > 1}
    if not steps:
        raise TransferError(f"{source}: a single pixel has no step")
    sizes = {dim: float(np.mean(step)) for dim, step in steps.items()}
    if len(sizes) == 2 and not np.isclose(sizes["y"], sizes["x"], rtol=1e-6):
        raise TransferError(f"{source}: expected square pixels, got steps {sizes} um")
    return next(iter(sizes.values()))
