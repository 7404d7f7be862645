"""Pyramid levels: how many, their shapes and placement, and the block reductions that make them.

A level halves every spatial axis longer than one voxel (rounding up) of the level before it;
levels are added while the last one's longest spatial side is at least `PYRAMID_SIDE` voxels,
so a 256³ channel has two levels (256³, 128³) and a 1024³ one four. Three reductions:

* ``mean`` for grey values: the mean of the finite voxels of each 2×2×2 block (NaN where none
  is finite; rounded to the nearest value for integer grey values);
* ``mode`` for labels and other integer channels: the most frequent value of each block, ties
  to the value that comes first in ``flag_values`` (labels) or the smallest (other integers);
* ``stride`` for orientations (quaternions cannot be averaged component-wise): the first voxel
  of each block.

A block cut short by an odd length holds only the voxels that exist. ``mean`` and ``mode``
levels describe each block by its centre, ``stride`` levels by the voxel they keep, so the
translation of level ``k`` (factor ``f = 2**k``) is ``origin + (f - 1) / 2 * voxel`` for the
first two and ``origin`` for the third (`level_translation`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = [
    "PYRAMID_SIDE",
    "Reduction",
    "level_factors",
    "level_shapes",
    "level_translation",
    "reduce_block",
]

PYRAMID_SIDE = 256
"""A channel gets a further level while its last level's longest spatial side is at least this."""

Reduction = Literal["mean", "mode", "stride"]

_FEW_VALUES = 16
"""Up to this many flag values, `mode` counts each value; beyond, it sorts each block."""


def level_shapes(shape: Sequence[int]) -> list[tuple[int, ...]]:
    """The spatial shape of every level, level 0 first.

    >>> level_shapes((256, 256, 256))
    [(256, 256, 256), (128, 128, 128)]
    >>> level_shapes((1, 1000, 600))
    [(1, 1000, 600), (1, 500, 300), (1, 250, 150)]
    >>> level_shapes((64, 64, 64))
    [(64, 64, 64)]
    """
    shapes = [tuple(int(n) for n in shape)]
    while max(shapes[-1]) >= PYRAMID_SIDE:
        shapes.append(tuple(n if n == 1 else math.ceil(n / 2) for n in shapes[-1]))
    return shapes


def level_factors(shape0: Sequence[int], level: int) -> tuple[int, ...]:
    """Per spatial axis, how many level-0 voxels one voxel of ``level`` spans (1 on axes of
    length 1, which are never halved).

    >>> level_factors((1, 1000, 600), 2)
    (1, 4, 4)
    """
    return tuple(1 if n == 1 else 2**level for n in shape0)


def level_translation(
    origin: Sequence[float], voxel: Sequence[float], factors: Sequence[int], reduction: Reduction
) -> list[float]:
    """Where the first voxel of a level lies, in the units of ``origin``.

    >>> level_translation([0.0, 0.0], [0.5, 1.0], [2, 4], "mean")
    [0.25, 1.5]
    >>> level_translation([0.0, 0.0], [0.5, 1.0], [2, 4], "stride")
    [0.0, 0.0]
    """
    if reduction == "stride":
        return [float(o) for o in origin]
    return [float(o + (f - 1) / 2 * s) for o, s, f in zip(origin, voxel, factors, strict=True)]


def reduce_block(
    block: np.ndarray,
    halve: Sequence[bool],
    reduction: Reduction,
    flag_values: Sequence[int] | None = None,
) -> np.ndarray:
    """One block of the next level from a block of this one.

    ``halve`` says, per axis of ``block``, whether the axis is halved (leading non-spatial
    axes, such as a channel axis, and axes of length 1 are not). Every halved axis of the
    result has ``ceil(n / 2)`` voxels.

    >>> labels = np.array([[[0, 0], [1, 2]], [[0, 2], [2, 2]]], dtype=np.uint8)
    >>> reduce_block(labels, [True, True, True], "mode", [0, 1, 2]).tolist()
    [[[2]]]
    >>> reduce_block(np.array([[[1.0, 3.0, 5.0]]]), [False, False, True], "mean").tolist()
    [[[2.0, 5.0]]]
    """
    if reduction == "stride":
        return block[tuple(slice(None, None, 2) if h else slice(None) for h in halve)]
    grouped, valid = _grouped(block, halve, reduction)
    if reduction == "mean":
        return _mean(grouped, valid, block.dtype)
    return _mode(grouped, valid, flag_values)


def _grouped(
    block: np.ndarray, halve: Sequence[bool], reduction: Reduction
) -> tuple[np.ndarray, np.ndarray]:
    """``block`` padded to even lengths on the halved axes and regrouped so that the voxels
    of each output voxel lie along one last axis; the mask says which of them exist."""
    pad = [(0, n % 2 if h else 0) for n, h in zip(block.shape, halve, strict=True)]
    valid = np.ones(block.shape, dtype=bool)
    if any(after for _, after in pad):
        block = np.pad(block, pad, mode="edge")
        valid = np.pad(valid, pad, constant_values=False)
    split: list[int] = []
    for n, h in zip(block.shape, halve, strict=True):
        split.extend((n // 2, 2) if h else (n, 1))
    order = [*range(0, len(split), 2), *range(1, len(split), 2)]
    out_shape = tuple(split[0::2])
    grouped = block.reshape(split).transpose(order).reshape(*out_shape, -1)
    valid = valid.reshape(split).transpose(order).reshape(*out_shape, -1)
    return grouped, valid


def _mean(grouped: np.ndarray, valid: np.ndarray, dtype: np.dtype) -> np.ndarray:
    values = grouped.astype(np.float64)
    usable = valid & np.isfinite(values)
    total = np.where(usable, values, 0.0).sum(axis=-1)
    count = usable.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if dtype.kind in "iu":  # integer grey values (counts, raw XCT): nearest, same type
        mean = np.rint(mean)
    return mean.astype(dtype)


def _mode(grouped: np.ndarray, valid: np.ndarray, flag_values: Sequence[int] | None) -> np.ndarray:
    if flag_values is not None and len(flag_values) <= _FEW_VALUES:
        counts = np.stack(
            [((grouped == v) & valid).sum(axis=-1, dtype=np.uint8) for v in flag_values]
        )
        winner = np.asarray(flag_values, dtype=grouped.dtype)[counts.argmax(axis=0)]
        # a value outside flag_values (not conforming) wins nowhere; keep the block's first
        return np.where(counts.max(axis=0) > 0, winner, grouped[..., 0])
    # padded voxels repeat the edge: they are not counted, and their own counts are -1
    order = np.argsort(grouped, axis=-1, kind="stable")
    ordered = np.take_along_axis(grouped, order, axis=-1)
    present = np.take_along_axis(valid, order, axis=-1)
    same = (ordered[..., :, None] == ordered[..., None, :]) & present[..., None, :]
    counts = np.where(present, same.sum(axis=-1), -1)
    return np.take_along_axis(ordered, counts.argmax(axis=-1)[..., None], axis=-1)[..., 0]
