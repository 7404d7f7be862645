"""`generate`: sample a registered generator into a fused dataset of the shape asked for.

The latent grid follows from the card: each output space axis is ``scale · latent + offset``
(SliceGAN: ``32 · (l − 2)``), so a requested shape maps back to one latent size per axis. A shape
the model cannot produce exactly is refused with the nearest sizes it can, never cropped or
padded silently. The latent is drawn as the card says (`fusion.registry.LatentSpec`), so the
same seed gives the same volume on every machine up to floating-point rounding of the device. A
``numpy-philox-blocks`` latent is counter-based: each tile draws its own window of it
(`SeededLatent`), so a volume of any size streams in the memory of a tile and the same seed
gives the same volume whatever the tiling; a ``numpy-pcg64`` latent is drawn whole first (up to
`fusion.registry.LATENT_WHOLE_LIMIT`, 1 GiB: about 8,000³ voxels of SliceGAN).

Only what the card's channels need is computed. A model may say in its ONNX metadata
(``fusion.argmax_of = labels=probabilities``) that an output is the argmax of another over its
channel axis; a channel that asks for that argmax then fetches the labels output instead, and
the graph is pruned to the fetched outputs before the session opens (onnxruntime runs every
node of a graph, the Softmax branch included, whichever outputs are fetched).

By default the volume is made in tiles of about 192³ voxels (`tile_for`): large enough that
the overlap between tiles costs under 10 % of the work, small enough that a SliceGAN tile's
activations stay near 0.5 GiB (256³ tiles: 1.3 GiB, and no faster); tiles run one at a time,
each with every core, while finished tiles are compressed and written. Each tile is a dask task
(`GeneratorTile`, picklable): under a dask.distributed cluster (`fusion.schema.use_scheduler`,
``--scheduler``) tiles run on its workers side by side, one thread each, and each tile's
chunks are written by the worker that made them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import xarray as xr

from fusion.schema import FusionError, scheduler_facts
from fusion.schema.provenance import now

from ._device import Device
from ._genonnx import metadata, output_names
from ._open import OpenedModel, open_model, resolve_model
from ._sessions import ModelFile
from ._tiles import balanced_tile, tile_count, tiled_channels
from ._wrap import WrapRequest, channel_array, wrap_outputs

__all__ = [
    "GeneratorTile",
    "SeededLatent",
    "ShapeError",
    "TooManyTilesError",
    "channels_to_run",
    "generate",
    "latent_shape",
    "output_nbytes",
    "output_words",
    "seeded_latent",
    "size_rule",
    "tile_for",
]

ARGMAX_KEY = "fusion.argmax_of"
"""ONNX metadata: ``labels=probabilities[,…]``, output ``labels`` is the argmax of
``probabilities`` over its channel axis."""
AUTO_TILE_EDGE = 192
"""Output voxels per tile edge for ``tile="auto"``."""
MAX_TILES = 50_000
"""The most tiles one run schedules: dask holds the whole task graph, about 8 KiB and 1.3 ms
to build per tile (measured), so 50,000 tiles (about 7,000³ voxels of SliceGAN at 192³ a
tile) cost some 400 MiB and a minute before the first tile runs."""


class ShapeError(FusionError, ValueError):
    """The model cannot produce the requested shape."""


class TooManyTilesError(ShapeError):
    """The volume asked for needs more tiles than one run schedules (`MAX_TILES`)."""


def latent_shape(card: Any, shape: Sequence[int]) -> tuple[int, ...]:
    """The latent tensor shape (batch 1) that makes the card's first output ``shape`` (z, y, x)."""
    latent = next(t for t in card.inputs if t.name == card.latent.tensor)
    output = next(t for t in card.outputs if t.name == card.channels[0].tensor)
    out_space = [axis for axis in output.axes if axis.type == "space"]
    if len(out_space) != len(shape):
        raise ShapeError(
            f"the model makes {len(out_space)}-D volumes, but the shape {tuple(shape)} has "
            f"{len(shape)} sizes"
        )
    sizes: dict[str, int] = {}
    smallest: dict[str, int] = {}
    minima = {a.name: getattr(a.size, "min", 1) for a in latent.axes if a.type == "space"}
    for axis, want in zip(out_space, shape, strict=True):
        rule = axis.size
        if not hasattr(rule, "scale"):
            raise ShapeError(f"output axis {axis.name!r} has no size rule in the card")
        l = (want - rule.offset) / rule.scale  # noqa: E741  (the paper's name for it)
        made = [int(rule.scale * n + rule.offset) for n in (int(np.floor(l)), int(np.ceil(l)))]
        if l != int(l) or l < 1:
            raise ShapeError(
                f"size {want} along {axis.name} cannot be generated: this model makes sizes "
                f"{rule.scale:g}·l{rule.offset:+d}; nearest: {sorted({m for m in made if m > 0})}"
            )
        sizes[rule.axis] = int(l)
        smallest[rule.axis] = int(rule.scale * minima.get(rule.axis, 1) + rule.offset)
        if l < minima.get(rule.axis, 1):
            raise ShapeError(
                f"size {want} along {axis.name} cannot be generated: the smallest this model "
                f"makes is {smallest[rule.axis]}"
            )
    dims = []
    for axis in latent.axes:
        if axis.type == "batch":
            dims.append(1)
        elif axis.type == "channel":
            dims.append(int(axis.size))
        else:
            dims.append(sizes[axis.name])
    return tuple(dims)


def size_rule(card: Any) -> tuple[int, int]:
    """``(scale, context)`` of a generator whose outputs are ``scale · (l − context)``."""
    output = next(t for t in card.outputs if t.name == card.channels[0].tensor)
    rules = {(a.size.scale, a.size.offset) for a in output.axes if a.type == "space"}
    if len(rules) != 1:
        raise ShapeError(f"the card's output axes follow different size rules: {sorted(rules)}")
    scale, offset = rules.pop()
    if scale != int(scale) or offset % scale:
        raise ShapeError(f"size rule {scale}·l{offset:+d} cannot be tiled exactly")
    return int(scale), int(-offset // scale)


def tile_for(
    card: Any, latent: Sequence[int] | None = None, edge: int = AUTO_TILE_EDGE
) -> int | tuple[int, ...]:
    """Latent cells per tile edge whose output edge is at most about ``edge`` voxels; with the
    latent shape, one per space axis, balanced so that an axis's windows are equal
    (`balanced_tile`) rather than full ones and a sliver.

    SliceGAN (32·(l − 2)): 192 voxels → at most 8 latent cells; the overlap of 2 cells then
    costs 10 % of the multiply-adds (6 cells, 128³ tiles: 13 %; 10 cells, 256³: 7 %). A 256³
    volume (l = 10) is made as 2 × 2 × 2 tiles of 6 cells, not of 8 and 4.
    """
    scale, context = size_rule(card)
    most = max(edge // scale, 1) + context
    if latent is None:
        return most
    return tuple(balanced_tile(n, most, context) for n in latent[2:])


@dataclass(frozen=True)
class SeededLatent:
    """A ``numpy-philox-blocks`` latent that is never drawn whole: each tile's task draws its
    own window (`fusion.registry.draw_latent`), so memory is bounded by the tile at any size;
    picklable, so windows are drawn on a cluster's workers."""

    spec: Any
    shape: tuple[int, ...]
    seed: int

    def window(self, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        from fusion.registry import draw_latent

        return draw_latent(self.spec, self.shape, self.seed, window=spans)


def seeded_latent(
    card: Any, dims: tuple[int, ...], seed: int, *, streamed: bool
) -> np.ndarray | SeededLatent:
    """The latent of a run: drawn window by window where the card's rng allows it and the run
    is tiled, else drawn whole now (refused beyond `fusion.registry.LATENT_WHOLE_LIMIT`)."""
    from fusion.registry import draw_latent

    if streamed and card.latent.rng == "numpy-philox-blocks":
        draw_latent(
            card.latent, dims, seed, window=[(0, 1)] * (len(dims) - 2)
        )  # refuses a bad seed now
        return SeededLatent(card.latent, tuple(dims), seed)
    return draw_latent(card.latent, dims, seed)


def channels_to_run(
    card: Any, model_metadata: Mapping[str, str], outputs: Sequence[str]
) -> dict[str, Any]:
    """Each card channel as it will be computed: an ``argmax`` channel of a tensor whose argmax
    the model outputs directly (``fusion.argmax_of``, and declared in the card) becomes an
    ``identity`` channel of that labels output."""
    pairs = dict(
        item.split("=", 1) for item in model_metadata.get(ARGMAX_KEY, "").split(",") if "=" in item
    )
    argmax_of = {source.strip(): labels.strip() for labels, source in pairs.items()}
    declared = {t.name for t in card.outputs}
    plan = {}
    for channel in card.channels:
        labels = argmax_of.get(channel.tensor)
        if channel.transform == "argmax" and labels in outputs and labels in declared:
            channel = channel.model_copy(update={"tensor": labels, "transform": "identity"})
        plan[channel.name] = channel
    return plan


@dataclass(frozen=True)
class GeneratorTile:
    """One tile's work as a picklable task: a latent window → the (z, y, x) values of each
    channel of the plan. Runs in whichever process the scheduler picks (see `ModelFile`)."""

    model: ModelFile
    card: Any
    plan: Mapping[str, Any]
    latent_tensor: str

    def __call__(self, window: np.ndarray) -> dict[str, np.ndarray]:
        fetch = sorted({channel.tensor for channel in self.plan.values()})
        session = self.model.session()
        with self.model.exclusive():
            values = session.session.run(fetch, {self.latent_tensor: window})
        outputs = dict(zip(fetch, values, strict=True))
        return {name: channel_array(self.card, c, outputs) for name, c in self.plan.items()}


def generate(
    ref: str,
    shape: Sequence[int],
    *,
    seed: int = 0,
    device: Device = "auto",
    tile: int | Literal["auto"] | None = "auto",
    voxel_size_um: float | Sequence[float] | None = None,
    registry: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
) -> xr.DataTree:
    """Generate a volume with a registered generator.

    Parameters
    ----------
    ref
        ``model:name[@version]``, e.g. ``model:slicegan-nmc``.
    shape
        (z, y, x) in voxels; must be a size the model makes (see `latent_shape`).
    seed
        Seed of the latent draw; recorded in the provenance.
    device
        ``auto`` (CUDA when usable, else CPU), ``cpu`` or ``cuda`` (an error if unusable).
    tile
        Latent cells per tile edge (SliceGAN: 6 gives 128³-voxel tiles, 8 gives 192³); the
        volume is made lazily, tile by tile, when it is written, so memory is bounded by the
        tile, not the volume. ``auto`` (default): `tile_for` the card and shape (192³-voxel
        tiles at most for SliceGAN). ``None`` makes it in one pass, eagerly.
    voxel_size_um
        Voxel size (µm; one value or z, y, x) instead of the card's, e.g. where the training
        image's pixel size is better known than when the card was written.
    registry, cache, offline
        As for ``fusion.registry.pull``.

    Tiles run when the volume is written, on the scheduler active then; call this and write
    the result inside one ``with use_scheduler(...)`` block, which the activity records
    (``scheduler``, ``scheduler_workers``) with the device the workers are asked to use.
    """
    model = resolve_model(ref, registry=registry, offline=offline)
    card = model.card
    if card.latent is None:
        raise ShapeError(f"{model.ref} is not a generator (its card has no latent)")
    dims = latent_shape(card, shape)
    tile = tile_for(card, dims) if tile == "auto" else tile
    if tile:
        _refuse_many_tiles(card, dims, tile, shape)
    latent = seeded_latent(card, dims, seed, streamed=bool(tile))
    model_file, plan, session = _open_planned(
        open_model(model, device, cache=cache, offline=offline)
    )
    fetch = model_file.outputs or tuple(sorted({c.tensor for c in plan.values()}))
    started = now()
    channels = GeneratorTile(model_file, card, plan, card.latent.tensor)
    request = WrapRequest(
        model.ref, model.sha256, card, {card.latent.tensor: latent}, outputs={}, seed=seed
    )
    if tile:
        scale, context = size_rule(card)
        dtypes = {name: np.dtype(c.dtype) for name, c in plan.items()}
        values = tiled_channels(latent, channels, dtypes, scale, context, tile)
    else:
        values = channels(latent)
    cells = list(tile) if isinstance(tile, tuple) else tile
    execution = {
        **session.provenance(),
        "latent_rng": card.latent.rng,
        "tile_latent_cells": cells,
        "outputs_run": list(fetch),
        **scheduler_facts(),
    }
    voxel = None if voxel_size_um is None else np.broadcast_to(voxel_size_um, 3).tolist()
    return wrap_outputs(
        request, execution=execution, started=started, voxel_size_um=voxel, values=values
    )


def output_nbytes(card: Any, shape: Sequence[int]) -> int:
    """Bytes of the channels a generator writes for ``shape`` (z, y, x), uncompressed."""
    total = 0
    for channel in card.channels:
        axes = [a for a in card.tensor(channel.tensor).axes if a.type == "channel"]
        keeps = channel.transform == "identity" and axes and isinstance(axes[0].size, int)
        depth = axes[0].size if keeps else 1
        total += math.prod(shape) * np.dtype(channel.dtype).itemsize * depth
    return total


def output_words(card: Any, shape: Sequence[int]) -> str:
    """``"a 256×256×256 volume of phase (uint8)"``: what a run writes, for messages."""
    channels = ", ".join(f"{c.name} ({c.dtype})" for c in card.channels)
    return f"a {'×'.join(str(int(n)) for n in shape)} volume of {channels}"


def _refuse_many_tiles(card: Any, dims: Sequence[int], tile: Any, shape: Sequence[int]) -> None:
    scale, context = size_rule(card)
    tiles = [tile] * (len(dims) - 2) if isinstance(tile, int) else list(tile)
    count = tile_count(dims[2:], tiles, context)
    if count > MAX_TILES:
        raise TooManyTilesError(
            f"{output_words(card, shape)} needs {count:,} tiles of "
            f"{'×'.join(str(scale * (t - context)) for t in tiles)} voxels; one run schedules "
            f"at most {MAX_TILES:,}; ask for a smaller volume"
        )


def _open_planned(opened: OpenedModel) -> tuple[ModelFile, dict[str, Any], Any]:
    """(model file pruned to the outputs the channels need, the channel plan, the session),
    opened here first, so that a bad model or device fails before any tile."""
    onnx_bytes = opened.file.verified_bytes()  # read and checked once, here
    outputs = output_names(onnx_bytes)
    plan = channels_to_run(opened.card, metadata(onnx_bytes), outputs)
    fetch = tuple(sorted({channel.tensor for channel in plan.values()}))
    model_file = opened.file
    if set(fetch) != set(outputs):
        model_file = replace(model_file, outputs=fetch)
    return model_file, plan, model_file.session(verified=onnx_bytes)
