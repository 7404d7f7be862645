"""Generating big volumes tile by tile, exactly, with memory bounded by the tile.

A generator whose card size rule is ``out = scale · l + offset`` with ``c = −offset / scale`` a
whole number (SliceGAN: 32 · (l − 2), c = 2) and whose layers obey the SliceGAN padding rule
maps a latent window ``[a, e)`` to exactly the voxels ``[scale · a, scale · (e − c))`` of the
volume the whole latent makes: the edge voxels such a window cannot inform are the ones the
padding crops. So windows that overlap by ``c`` latent cells give output tiles that do not overlap
and join without seams (checked in the tests against one-pass generation).

The latent is either an array, cut into windows as the graph is built, or a `WindowedLatent`
that draws each window inside its tile's task (`fusion.models.SeededLatent`: a counter-based
draw), so that no more than a tile's latent is ever in memory, whatever the volume's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from typing import Protocol

import dask
import dask.array as da
import numpy as np

__all__ = ["WindowedLatent", "balanced_tile", "latent_windows", "tile_count", "tiled_channels"]


class WindowedLatent(Protocol):
    """A latent too large to hold, drawn a window at a time; it must pickle."""

    shape: tuple[int, ...]
    """(1, channels, Lz, Ly, Lx)."""

    def window(self, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """The (1, channels, …) cells ``[a, e)`` along each space axis."""


def latent_windows(length: int, tile: int, context: int) -> list[tuple[int, int]]:
    """Latent windows ``[a, e)`` of at most ``tile`` cells that overlap by ``context`` cells.

    >>> latent_windows(10, 6, 2)
    [(0, 6), (4, 10)]
    >>> latent_windows(7, 6, 2)
    [(0, 6), (4, 7)]
    """
    if tile <= context:
        raise ValueError(f"a tile of {tile} latent cells makes nothing with context {context}")
    windows, start = [], 0
    while True:
        end = min(start + tile, length)
        windows.append((start, end))
        if end == length:
            return windows
        start = end - context


def tile_count(lengths: Sequence[int], tiles: Sequence[int], context: int) -> int:
    """How many windows (`latent_windows`) cover ``lengths`` with ``tiles`` cells per axis.

    >>> tile_count([10, 7], [6, 6], 2)
    4
    """
    return math.prod(
        len(latent_windows(n, t, context)) for n, t in zip(lengths, tiles, strict=True)
    )


def balanced_tile(length: int, most: int, context: int) -> int:
    """The smallest tile that covers ``length`` latent cells in as few windows as tiles of
    ``most`` cells do: equal tiles instead of full ones and a sliver.

    >>> balanced_tile(10, 8, 2), latent_windows(10, 8, 2), latent_windows(10, 6, 2)
    (6, [(0, 8), (6, 10)], [(0, 6), (4, 10)])
    >>> balanced_tile(34, 8, 2), balanced_tile(5, 8, 2)
    (8, 5)
    """
    if length <= most:
        return length
    count = -(-(length - context) // (most - context))
    return -(-(length - context) // count) + context


def tiled_channels(
    latent: np.ndarray | WindowedLatent,
    run: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    dtypes: Mapping[str, np.dtype],
    scale: int,
    context: int,
    tile: int | Sequence[int],
) -> dict[str, da.Array]:
    """Lazy (z, y, x) dask arrays, one per name in ``dtypes``; each chunk of all of them comes
    from one call of ``run`` on one latent window.

    ``latent`` is (1, channels, Lz, Ly, Lx), an array or a `WindowedLatent`; ``tile`` the
    latent cells per window edge (one for all axes, or one per axis); ``run(window)`` returns the (z, y, x) values of every
    channel for that window's output (e.g. its phase labels). Each window is one dask task of
    ``run``, so ``run`` must pickle (`fusion.models._generate.GeneratorTile` does) to run on a
    dask.distributed cluster's workers.
    """
    space = latent.shape[2:]
    tiles = [tile] * len(space) if isinstance(tile, int) else list(tile)
    axes = [latent_windows(n, t, context) for n, t in zip(space, tiles, strict=True)]
    blocks = {name: np.empty([len(w) for w in axes], dtype=object) for name in dtypes}
    for index in product(*(range(len(w)) for w in axes)):
        windows = [axes[i][j] for i, j in enumerate(index)]
        if isinstance(latent, np.ndarray):
            piece = latent[:, :, *(slice(a, e) for a, e in windows)]
        else:
            piece = dask.delayed(latent.window, pure=True)(windows)
        shape = tuple(scale * (e - a - context) for a, e in windows)
        task = dask.delayed(run, pure=True)(piece)
        for name, dtype in dtypes.items():
            blocks[name][index] = da.from_delayed(task[name], shape=shape, dtype=dtype)
    return {name: da.block(b.tolist()) for name, b in blocks.items()}
