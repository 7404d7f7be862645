"""`tortuosity_factor`: steady-state diffusion through one phase, TauFactor's definition.

The problem (Cooper et al., SoftwareX 5, 203 (2016); Kench et al., JOSS 8, 5358 (2023)):
diffusion with D = 1 in the conducting phase and 0 elsewhere; concentration 1 on the inlet face
and 0 on the outlet face of the volume along ``axis``, zero flux through the four other faces.

Discretisation (finite volumes, as TauFactor's): one unknown per conducting voxel; between two
face neighbours the conductance is D × face area / centre distance, with D the harmonic mean of
the two voxels' diffusivities (1 between two conducting voxels, 0 otherwise); a voxel on the
inlet or outlet face is joined to the face value over half a voxel (twice the conductance).
Only clusters that touch both faces carry flux; the others are left out of the linear system,
which keeps it non-singular and changes no flux.

Results: D_eff / D = J L / (A Δc), with J the steady flux through a cross-section (averaged
over all of them, as TauFactor does), L the length along ``axis`` and A the cross-section; and
τ = ε D / D_eff with ε the volume fraction of the whole phase, percolating or not.
The linear system is solved with conjugate gradients preconditioned by aggregation multigrid
(`_multigrid`), or directly when it is small.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr

from ._errors import AnalysisError
from ._grid import VoxelSize, axis_index, integer_labels, voxel_grid
from ._multigrid import COARSEST_UNKNOWNS, multigrid_preconditioner

__all__ = ["Tortuosity", "tortuosity_factor"]

RTOL = 1e-7
"""Relative residual at which CG stops; τ is then good to about 1e-6."""
MAX_ITERATIONS = 1000


@dataclass(frozen=True)
class Tortuosity:
    """The result of `tortuosity_factor`."""

    tau: float
    """Tortuosity factor τ = ε D / D_eff; ``inf`` when the phase does not connect the faces."""
    d_eff: float
    """D_eff / D, the relative effective diffusivity (TauFactor's ``D_eff`` with ``D_0 = 1``)."""
    volume_fraction: float
    """ε, the fraction of all voxels in the conducting phase."""
    percolating_fraction: float
    """Fraction of all voxels in clusters of the phase that touch both faces."""
    axis: int
    """Array axis along which the phase was crossed."""
    iterations: int
    """CG iterations (0 for a direct solve or when nothing percolates)."""


def tortuosity_factor(
    phase: np.ndarray | xr.DataArray,
    conducting_label: int,
    axis: int | str,
    voxel_size_um: VoxelSize = None,
) -> Tortuosity:
    """Tortuosity factor of one phase along one axis; other phases are insulating.

    Parameters
    ----------
    phase
        Integer labels with 2 or 3 axes. A DataArray gives its voxel size through its
        coordinates; ``axis`` may then be a dimension name (``"z"``).
    conducting_label
        The label of the conducting phase (e.g. 0 for pore).
    axis
        The axis from whose first face to whose last face the phase is crossed.
    voxel_size_um
        Voxel size for a numpy array: one number or one per axis (default: cubic voxels).
        Only the ratios matter: they weight the conductances across and along the axis.

    Returns
    -------
    Tortuosity
        τ, D_eff / D, ε and the solver's iteration count. When no cluster of the phase touches
        both faces, D_eff = 0 and τ = inf, with a RuntimeWarning saying so.

    Examples
    --------
    >>> channels = np.ones((8, 6, 6), dtype=np.uint8)
    >>> channels[:, ::2, ::2] = 0  # straight pores along axis 0
    >>> result = tortuosity_factor(channels, conducting_label=0, axis=0)
    >>> round(result.tau, 6), round(result.d_eff, 6)
    (1.0, 0.25)
    """
    values, spacing = voxel_grid(phase, voxel_size_um, "tortuosity_factor")
    values = integer_labels(values, "tortuosity_factor")
    if values.ndim not in (2, 3):
        raise AnalysisError(f"tortuosity_factor: expected 2 or 3 axes, got {values.ndim}")
    along = axis_index(phase, axis, "tortuosity_factor")
    if values.shape[along] < 2:
        raise AnalysisError(
            f"tortuosity_factor: axis {along} has {values.shape[along]} voxel; need at least 2"
        )
    spacing = spacing or (1.0,) * values.ndim
    conducting = np.moveaxis(values == conducting_label, along, 0)
    spacing = (spacing[along], *np.delete(spacing, along))
    epsilon = float(conducting.mean())
    active = _percolating(conducting)
    if not active.any():
        warnings.warn(
            f"tortuosity_factor: phase {conducting_label} (volume fraction {epsilon:.4f}) has no "
            f"path of face-connected voxels from the first to the last face along axis {along}: "
            "D_eff = 0, tau = inf",
            RuntimeWarning,
            stacklevel=2,
        )
        return Tortuosity(math.inf, 0.0, epsilon, 0.0, along, 0)
    conductance = _conductances(spacing)
    matrix, rhs = _assemble(active, conductance)
    potential, iterations = _solve(matrix, rhs, active)
    flux = _mean_flux(potential, active, conductance[0])
    length = active.shape[0] * spacing[0]
    area = float(np.prod([n * h for n, h in zip(active.shape[1:], spacing[1:], strict=True)]))
    d_eff = flux * length / area
    return Tortuosity(epsilon / d_eff, d_eff, epsilon, float(active.mean()), along, iterations)


def _percolating(conducting: np.ndarray) -> np.ndarray:
    """Voxels of face-connected clusters that touch both the first and the last layer."""
    clusters, _ = ndi.label(conducting)
    through = np.intersect1d(clusters[0], clusters[-1])
    keep = np.zeros(clusters.max() + 1, dtype=bool)
    keep[through[through > 0]] = True
    return keep[clusters]


def _conductances(spacing: tuple[float, ...]) -> np.ndarray:
    """Face area / centre distance along each axis (D = 1), in µm."""
    h = np.asarray(spacing, dtype=np.float64)
    return np.prod(h) / h**2


def _assemble(active: np.ndarray, conductance: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The finite-volume matrix over active voxels and its right-hand side (inlet at 1)."""
    n = int(np.count_nonzero(active))
    index = np.full(active.shape, -1, dtype=np.int64)
    index[active] = np.arange(n)
    rows, cols, weights = [], [], []
    diagonal = np.zeros(n)
    for axis, g in enumerate(conductance):
        lower, upper = _neighbour_slices(active.ndim, axis)
        pair = active[lower] & active[upper]
        i, j = index[lower][pair], index[upper][pair]
        rows += [i, j]
        cols += [j, i]
        weights.append(np.full(2 * i.size, -g))
        diagonal += g * (np.bincount(i, minlength=n) + np.bincount(j, minlength=n))
    inlet, outlet = index[0][active[0]], index[-1][active[-1]]
    diagonal[inlet] += 2 * conductance[0]
    diagonal[outlet] += 2 * conductance[0]
    rhs = np.zeros(n)
    rhs[inlet] = 2 * conductance[0]
    every = np.arange(n)
    matrix = sp.csr_matrix(
        (
            np.concatenate([*weights, diagonal]),
            (np.concatenate([*rows, every]), np.concatenate([*cols, every])),
        ),
        shape=(n, n),
    )
    return matrix, rhs


def _neighbour_slices(ndim: int, axis: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    lower = [slice(None)] * ndim
    upper = [slice(None)] * ndim
    lower[axis], upper[axis] = slice(None, -1), slice(1, None)
    return tuple(lower), tuple(upper)


def _solve(matrix: sp.csr_matrix, rhs: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, int]:
    """Concentration in every active voxel, and the CG iteration count (0: direct)."""
    if matrix.shape[0] <= COARSEST_UNKNOWNS:
        return spla.spsolve(matrix.tocsc(), rhs), 0
    positions = np.argwhere(active)
    layers = active.shape[0]
    start = 1.0 - (positions[:, 0] + 0.5) / layers  # the linear profile of a straight channel
    iterations = 0

    def count(_: np.ndarray) -> None:
        nonlocal iterations
        iterations += 1

    preconditioner = multigrid_preconditioner(matrix, positions)
    solution, info = spla.cg(
        matrix, rhs, x0=start, rtol=RTOL, maxiter=MAX_ITERATIONS, M=preconditioner, callback=count
    )
    if info != 0:
        raise AnalysisError(
            f"tortuosity_factor: conjugate gradients did not reach a relative residual of "
            f"{RTOL:g} in {MAX_ITERATIONS} iterations"
        )
    return solution, iterations


def _mean_flux(potential: np.ndarray, active: np.ndarray, conductance: float) -> float:
    """Flux along axis 0 through the inlet face, every inner cross-section and the outlet face,
    averaged (equal at convergence)."""
    field = np.zeros(active.shape)
    field[active] = potential
    spatial = tuple(range(1, active.ndim))
    inlet = 2 * conductance * np.sum((1.0 - field[0]) * active[0])
    inner = conductance * np.sum((field[:-1] - field[1:]) * (active[:-1] & active[1:]), spatial)
    outlet = 2 * conductance * np.sum(field[-1] * active[-1])
    return float(np.mean([inlet, *inner, outlet]))
