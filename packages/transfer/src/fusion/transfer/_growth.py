"""Grains grown in 3D inside the particles of one phase, sized to match a real EBSD map.

Nucleation: every voxel of the crystal phase gets a uniform random number ``u`` (seeded); the
voxels with ``u < p`` are nuclei, plus the voxel of lowest ``u`` in every particle (a connected
component of the phase, face neighbours), so that every particle holds at least one grain.
Growth: every voxel joins its nearest nucleus (Euclidean, in µm) *of the same particle*
(a Voronoi tessellation restricted to each particle); a cell that the particle's shape cuts
into pieces becomes one grain per piece, so every grain is connected.

Fit: the nucleation probability ``p`` is found by bisection on ``log p`` so that the median
equivalent diameter of the grain *sections* on every slice of the volume (along z, y and x)
equals the median equivalent diameter of the map's grains (sections too), times
``size_scale``; sections smaller than the map's smallest kept grain are left out of both, as
the map leaves them out. The nuclei for a larger ``p`` include those of a smaller one (one
``u`` field), so the median falls steadily as ``p`` grows. The Kolmogorov–Smirnov distance
between the two section-diameter distributions is reported with the fit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree
from scipy.stats import ks_2samp

from ._components import components, equal_neighbours, relabel, section_diameters_um
from ._ebsd import GrainMap
from ._errors import TransferError, TransferWarning

__all__ = ["GrowthFit", "grow_grains", "section_diameters_um"]

FIT_RTOL = 0.01
"""Bisection stops when the median is within this relative distance of the target."""
LOG_P_RESOLUTION = 1e-3
"""Bisection stops when the bracket of log p is this narrow."""
CONVERGED_RTOL = 0.1
"""A fit whose median is farther than this (relative) from the target has not converged."""
FIT_ATTR = "grain_growth"
"""Attribute of `grow_grains`'s result holding the fit (a `GrowthFit` as a dict)."""


@dataclass(frozen=True)
class GrowthFit:
    """How the grains were grown and how well their sections match the map's grains."""

    nucleation_probability: float
    """Chance of a crystal voxel to be a nucleus (besides one per particle)."""
    nuclei: int
    """Nuclei placed (some may end up with no voxel)."""
    particles: int
    """Connected components of the crystal phase."""
    grains: int
    """Grains grown (connected, ids 1..grains)."""
    target_median_um: float
    """Median equivalent diameter of the map's grains times ``size_scale``."""
    section_median_um: float
    """Median equivalent diameter of the grain sections of the volume."""
    ks_distance: float
    """Kolmogorov–Smirnov distance between the two equivalent-diameter distributions."""
    sections: int
    """Grain sections measured in the volume (all slices along z, y, x)."""
    map_grains: int
    """Grains of the map."""
    size_scale: float
    """Factor applied to the map's grain sizes."""
    converged: bool
    """False when the section median is not within 10 % of the target: the grains are larger
    than the particles allow, or too small for the voxels (a `TransferWarning` says so)."""


def grow_grains(
    phase: xr.DataArray,
    *,
    crystal_phase: int,
    grains: GrainMap,
    seed: int,
    size_scale: float = 1.0,
) -> xr.DataArray:
    """Grow grains in the voxels of ``crystal_phase``, sized like the grains of ``grains``.

    Parameters
    ----------
    phase
        Label volume on (z, y, x) with coordinates in µm (a fusion scale group's channel).
    crystal_phase
        The label value of the crystalline phase (e.g. NMC's).
    grains
        Grains of a real EBSD map (`ebsd_grains`).
    seed
        Seed of the nucleation; the same seed gives the same grains.
    size_scale
        Factor on the map's grain sizes, for a map of another material or scale (1: as measured).

    Returns
    -------
    xarray.DataArray
        ``grain_id`` (uint16, or uint32 beyond 65535 grains): 1..n in the crystal phase, 0
        elsewhere; attribute ``grain_growth`` holds the fit (`GrowthFit` fields).

    Raises
    ------
    TransferError
        No voxel of ``crystal_phase``, or a volume thinner than 2 voxels.
    """
    if size_scale <= 0:
        raise ValueError(f"size_scale must be positive, got {size_scale}")
    positions, spacing = _grid(phase)
    crystal = np.asarray(phase.values) == crystal_phase
    if not crystal.any():
        raise TransferError(
            f"{phase.name or 'phase'}: no voxel of phase {crystal_phase} to grow the grains "
            f"of {grains.source} in"
        )
    joins = equal_neighbours(crystal.astype(np.int8), (0, 1, 2))
    particle = relabel(components(crystal.shape, joins), crystal)
    grower = _Grower(crystal, particle, positions[crystal.ravel()], spacing, seed)
    target = grains.equivalent_diameters_um * size_scale
    min_area = grains.min_area_um2 * size_scale**2
    best = _fit(grower, target, min_area, grains.source)
    grain_id = relabel(components(crystal.shape, equal_neighbours(best.owner, (0, 1, 2))), crystal)
    sections = section_diameters_um(grain_id, spacing, min_area)
    fit = GrowthFit(
        nucleation_probability=best.p,
        nuclei=int(np.count_nonzero((grower.u < best.p) | grower.forced)),
        particles=int(particle.max()),
        grains=int(grain_id.max()),
        target_median_um=float(np.median(target)),
        section_median_um=float(np.median(sections)) if sections.size else 0.0,
        ks_distance=_ks(sections, target),
        sections=int(sections.size),
        map_grains=len(target),
        size_scale=size_scale,
        converged=_log_error(best.median, float(np.median(target))) <= math.log1p(CONVERGED_RTOL),
    )
    dtype = np.uint16 if grain_id.max() <= np.iinfo(np.uint16).max else np.uint32
    return xr.DataArray(
        grain_id.astype(dtype),
        coords={dim: phase[dim] for dim in ("z", "y", "x")},
        dims=("z", "y", "x"),
        name="grain_id",
        attrs={FIT_ATTR: asdict(fit)},
    )


class _Grower:
    """Voronoi tessellations of the crystal phase, restricted to each particle, for a
    nucleation probability."""

    def __init__(
        self,
        crystal: np.ndarray,
        particle: np.ndarray,
        positions: np.ndarray,
        spacing: tuple[float, float, float],
        seed: int,
    ) -> None:
        self.crystal = crystal
        self.spacing = spacing
        self.u = np.random.default_rng(seed).random(int(crystal.sum()))
        members = particle[crystal]
        order = np.lexsort((self.u, members))  # by particle, then by u
        starts = np.flatnonzero(np.r_[True, np.diff(members[order]) != 0])
        self.forced = np.zeros(self.u.size, dtype=bool)
        self.forced[order[starts]] = True  # the lowest u of every particle
        # particles far apart in a 4th coordinate: a nucleus never claims another particle
        extent = float(np.ptp(positions, axis=0).sum()) + 1.0
        self.points = np.column_stack([positions, members * 2.0 * extent])

    def owners(self, p: float) -> np.ndarray:
        """Nucleus index + 1 of every voxel (0 outside the crystal phase): the nearest nucleus
        of the voxel's particle."""
        nuclei = np.flatnonzero((self.u < p) | self.forced)
        _, nearest = cKDTree(self.points[nuclei]).query(self.points, k=1)
        owner = np.zeros(self.crystal.shape, dtype=np.int64)
        owner[self.crystal] = nuclei[nearest] + 1
        return owner


@dataclass(frozen=True)
class _Trial:
    """One tessellation tried by the fit."""

    p: float
    owner: np.ndarray
    sections: np.ndarray

    @property
    def median(self) -> float:
        return float(np.median(self.sections)) if self.sections.size else 0.0


def _fit(grower: _Grower, target: np.ndarray, min_area: float, source: str) -> _Trial:
    """Bisection on log p for the median section diameter: the trial nearest the target, with a
    `TransferWarning` when it is not within `CONVERGED_RTOL` of it."""

    def trial(p: float) -> _Trial:
        owner = grower.owners(p)
        return _Trial(p, owner, section_diameters_um(owner, grower.spacing, min_area))

    median = float(np.median(target))
    best = trial(0.0)  # one nucleus per particle: the largest grains there can be
    if best.median > median:
        log_low, log_high = math.log(0.1 / grower.u.size), 0.0
        while log_high - log_low > LOG_P_RESOLUTION:
            current = trial(math.exp((log_low + log_high) / 2))
            if _log_error(current.median, median) < _log_error(best.median, median):
                best = current
            if _log_error(current.median, median) <= math.log1p(FIT_RTOL):
                break
            if current.median > median:
                log_low = math.log(current.p)
            else:
                log_high = math.log(current.p)
    if _log_error(best.median, median) > math.log1p(CONVERGED_RTOL):
        why = "too small: one grain each" if best.median < median else "too coarse for them"
        warnings.warn(
            f"{source}: grain sections of median {median:.4g} um cannot be grown (the "
            f"particles or voxels are {why}; median {best.median:.4g} um); pass size_scale "
            "to rescale the map's grains",
            TransferWarning,
            stacklevel=3,
        )
    return best


def _ks(sections: np.ndarray, target: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance of two samples; 1 when nothing was measured."""
    return float(ks_2samp(sections, target).statistic) if sections.size else 1.0


def _log_error(value: float, target: float) -> float:
    """|log(value / target)|; infinite when nothing was measured (value 0)."""
    return abs(math.log(value / target)) if value > 0 else math.inf


def _grid(phase: xr.DataArray) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Voxel centres (n, 3) in µm, raster order, and the voxel size (z, y, x) in µm."""
    if phase.dims != ("z", "y", "x"):
        raise TransferError(
            f"{phase.name or 'phase'}: expected a label volume on (z, y, x), got {phase.dims}"
        )
    axes = [np.asarray(phase[dim].values, dtype=np.float64) for dim in ("z", "y", "x")]
    if min(a.size for a in axes) < 2:
        raise TransferError(
            f"{phase.name or 'phase'}: expected at least 2 voxels along z, y and x, got "
            f"{tuple(a.size for a in axes)}"
        )
    spacing = tuple(float(np.mean(np.diff(a))) for a in axes)
    grid = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([g.ravel() for g in grid]), spacing  # type: ignore[return-value]
