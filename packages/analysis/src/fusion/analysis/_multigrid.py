"""An aggregation multigrid preconditioner for voxel diffusion matrices (scipy only).

The unknowns are voxels; each coarser level merges the unknowns of every 2 × 2 × 2 block of the
level below into one (piecewise-constant prolongation P), with the Galerkin coarse matrix
PᵀAP. One V-cycle (weighted-Jacobi smoothing before and after, an over-corrected coarse step,
a sparse LU solve on the coarsest level) is the preconditioner of conjugate gradients. It is
symmetric and positive definite, as CG needs, because smoothing before and after is the same
and the coarse step is PA_c⁻¹Pᵀ scaled by less than 2.

It cuts the CG iterations of a 128³ electrode from about 950 (Jacobi) to about 20-30.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["COARSEST_UNKNOWNS", "multigrid_preconditioner"]

COARSEST_UNKNOWNS = 5000
"""Levels are added until a level has at most this many unknowns; it is solved by sparse LU."""
SMOOTHING_STEPS = 2
JACOBI_WEIGHT = 2.0 / 3.0
COARSE_OVERCORRECTION = 1.5
"""Piecewise-constant prolongation underestimates the coarse correction; scaling it by 1.5
(< 2 keeps the preconditioner positive definite) saves about a third of the iterations."""


@dataclass
class _Level:
    matrix: sp.csr_matrix
    prolongation: sp.csr_matrix
    inverse_diagonal: np.ndarray


def multigrid_preconditioner(matrix: sp.csr_matrix, positions: np.ndarray) -> spla.LinearOperator:
    """One V-cycle as a LinearOperator approximating ``matrix``⁻¹.

    Parameters
    ----------
    matrix
        Symmetric positive-definite matrix over voxels (N × N).
    positions
        (N, ndim) integer voxel indices of the unknowns, to group them into blocks.
    """
    levels, coarsest = _hierarchy(matrix, positions)
    return spla.LinearOperator(
        matrix.shape, matvec=lambda r: _v_cycle(levels, coarsest, r), dtype=np.float64
    )


def _hierarchy(matrix: sp.csr_matrix, positions: np.ndarray) -> tuple[list[_Level], spla.SuperLU]:
    levels: list[_Level] = []
    while matrix.shape[0] > COARSEST_UNKNOWNS:
        positions = positions // 2
        extent = positions.max(axis=0) + 1
        blocks, owner = np.unique(np.ravel_multi_index(positions.T, extent), return_inverse=True)
        n = matrix.shape[0]
        prolongation = sp.csr_matrix(
            (np.ones(n), (np.arange(n), owner.ravel())), shape=(n, blocks.size)
        )
        levels.append(_Level(matrix, prolongation, 1.0 / matrix.diagonal()))
        matrix = (prolongation.T @ matrix @ prolongation).tocsr()
        positions = np.stack(np.unravel_index(blocks, extent), axis=1)
    return levels, spla.splu(matrix.tocsc())


def _v_cycle(levels: list[_Level], coarsest: spla.SuperLU, rhs: np.ndarray) -> np.ndarray:
    if not levels:
        return coarsest.solve(rhs)
    level, below = levels[0], levels[1:]
    a, d = level.matrix, JACOBI_WEIGHT * level.inverse_diagonal
    x = d * rhs
    for _ in range(SMOOTHING_STEPS - 1):
        x += d * (rhs - a @ x)
    coarse_rhs = level.prolongation.T @ (rhs - a @ x)
    x += COARSE_OVERCORRECTION * (level.prolongation @ _v_cycle(below, coarsest, coarse_rhs))
    for _ in range(SMOOTHING_STEPS):
        x += d * (rhs - a @ x)
    return x
