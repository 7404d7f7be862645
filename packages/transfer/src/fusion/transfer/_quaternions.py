"""Unit quaternions (w, x, y, z) and crystal symmetry operations, as numpy arrays.

Orientations are crystal-to-sample rotations ``q`` (``v_s = q v_c q*``, Hamilton product), the
format's convention. A symmetry operation ``s`` of the crystal acts in the crystal frame, so
``q`` and ``q s`` are the same orientation for every ``s`` of the crystal's proper point group.
orix gives the operations; its own `Orientation` is sample-to-crystal, the conjugate of ``q``.
"""

from __future__ import annotations

import functools

import numpy as np
from orix.quaternion import Orientation, symmetry
from orix.quaternion.symmetry import Symmetry

__all__ = [
    "as_orix",
    "multiply",
    "nearest_equivalent",
    "orix_symmetry",
    "positive_w",
    "proper_operations",
]


@functools.cache
def _groups() -> dict[str, Symmetry]:
    """orix's point groups by their Hermann–Mauguin name (``'m-3m'``, ``'6/mmm'``, ``'-3m'``)."""
    groups = [value for value in vars(symmetry).values() if isinstance(value, Symmetry)]
    named = {group.name: group for group in groups}
    aliases = {"2": "112", "m": "11m", "3m1": "3m", "-3m1": "-3m", "32": "321"}
    return named | {alias: named[name] for alias, name in aliases.items() if name in named}


def orix_symmetry(point_group: str) -> Symmetry | None:
    """The orix point group named ``point_group``, or None for a name orix does not know."""
    return _groups().get(point_group)


def proper_operations(point_group: str) -> np.ndarray:
    """The rotations (m, 4) of the proper subgroup of ``point_group``: what makes orientations
    equivalent (an inversion centre or mirror adds no distinct rotation)."""
    group = _groups()[point_group]
    return np.asarray(group.proper_subgroup.data, dtype=np.float64)


def as_orix(quaternions: np.ndarray, point_group: str) -> Orientation:
    """Crystal-to-sample quaternions as orix orientations (sample-to-crystal: conjugated)."""
    conjugate = quaternions * np.array([1.0, -1.0, -1.0, -1.0])
    return Orientation(conjugate, symmetry=_groups()[point_group].proper_subgroup)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a b`` of quaternion arrays (..., 4), broadcast.

    >>> multiply(np.array([0.0, 1, 0, 0]), np.array([0.0, 0, 1, 0]))  # i j = k
    array([0., 0., 0., 1.])
    """
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def positive_w(quaternions: np.ndarray) -> np.ndarray:
    """``q`` or ``-q`` (one rotation), whichever has ``w >= 0``."""
    return quaternions * np.where(quaternions[..., :1] < 0, -1.0, 1.0)


def nearest_equivalent(
    quaternions: np.ndarray, references: np.ndarray, operations: np.ndarray
) -> np.ndarray:
    """The symmetry equivalent ``q s`` of each quaternion (n, 4) closest to its reference
    (n, 4), with the sign that makes its dot product with the reference positive."""
    equivalents = multiply(quaternions[:, np.newaxis, :], operations[np.newaxis])  # (n, m, 4)
    dots = np.einsum("nmc,nc->nm", equivalents, references)
    best = np.argmax(np.abs(dots), axis=1)
    chosen = equivalents[np.arange(len(quaternions)), best]
    sign = np.sign(dots[np.arange(len(quaternions)), best])
    return chosen * np.where(sign == 0, 1.0, sign)[:, np.newaxis]
