"""`superres`: predict a volume ``sf`` times finer from a coarse phase map with a registered
``super-resolve-3d`` model.

The input is a label channel whose ``flag_meanings`` name ``NMC``: the particles; every other
label is the unresolved rest. The model sees the particle indicator plus seeded noise on the
coarse grid and gives pore / NMC / CBD on the fine grid. Its convolutions are valid and its
upsamplings do not overlap (`fusion.training.superres.model`), so a window of ``n + context``
coarse cells (``context`` from the card's size rule, ``sf·(l − context)``) gives exactly the
``sf·n`` fine voxels of its central cells, whatever else surrounds them. The whole input is
padded by ``context / 2`` cells of its own edge values (and noise drawn there too), so its
borders get context, and windows that overlap by ``context`` cells tile the volume exactly:
the same seed gives the same voxels whatever the tiling, up to floating-point rounding.

The noise is counter-based (``numpy-philox-blocks``): each tile draws its own window of it,
reads its own window of the input, and runs in the memory of a tile, so any size streams.
Each tile is a dask task (`SuperResTile`, picklable) run when the result is written, on the
scheduler active then.

The result is the input dataset with one new scale group, the fine one, named
``<group>_x<sf>`` by default: its coordinates cover exactly the input's extent (fine voxel
``j`` of an axis whose coarse voxels start at ``c₀`` with size ``s`` is centred at
``c₀ − s/2 + (j + ½)·s/sf``), its ``phase`` is ``origin: generated``, and a ``super-resolve``
activity names the model, the input channel and the seed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import Any, Literal

import dask
import dask.array as da
import numpy as np
import xarray as xr

from fusion.schema import FusionError, check_reachable, scheduler_facts, unique_id
from fusion.schema.provenance import now, provenance_of

from ._device import Device
from ._generate import MAX_TILES, SeededLatent, TooManyTilesError, size_rule
from ._open import open_model, resolve_model
from ._segment import channel_path, fresh_copy, open_tree, record_model_run
from ._sessions import ModelFile
from ._tiles import balanced_tile, latent_windows, tile_count

__all__ = [
    "PARTICLES",
    "SuperResInputError",
    "SuperResTile",
    "coarse_input",
    "find_particle_channel",
    "fine_coordinate",
    "superres",
]

PARTICLES = "NMC"
"""The flag meaning that marks the particles in the input channel."""
AUTO_TILE_EDGE = 192
"""Fine voxels per tile edge for ``tile="auto"`` (at most)."""
TASK = "super-resolve-3d"


class SuperResInputError(FusionError, ValueError):
    """The input has no channel the model can super-resolve, or it is the wrong shape."""


def find_particle_channel(tree: xr.DataTree, channel: str | None = None) -> tuple[str, str, int]:
    """(group path, variable, particle label) of the label channel to super-resolve.

    ``channel`` is ``/group/name`` or a bare ``name``; by default the one (z, y, x) label
    channel whose ``flag_meanings`` name ``NMC``.
    """
    channels = [
        (node.path, str(name), var)
        for node in tree.subtree
        for name, var in node.to_dataset(inherit=False).data_vars.items()
    ]
    if channel is not None:
        named = [c for c in channels if channel in (c[1], channel_path(c[0], c[1]))]
        if len(named) != 1:
            shown = [channel_path(g, n) for g, n, _ in channels]
            raise SuperResInputError(
                f"no single channel {channel!r} in the input; its channels: {shown or 'none'}"
            )
        group, name, var = named[0]
        return group, name, _particle_label(channel_path(group, name), var)
    labelled = [
        (g, n, v) for g, n, v in channels if PARTICLES in _meanings(v) and v.dims == ("z", "y", "x")
    ]
    if len(labelled) != 1:
        shown = [channel_path(g, n) for g, n, _ in labelled]
        raise SuperResInputError(
            f"expected one (z, y, x) label channel whose flag_meanings name {PARTICLES}, found "
            f"{shown or 'none'}" + (": name one with --channel /group/name" if shown else "")
        )
    group, name, var = labelled[0]
    return group, name, _particle_label(channel_path(group, name), var)


def _meanings(var: xr.DataArray) -> list[str]:
    return str(var.attrs.get("flag_meanings", "")).split()


def _particle_label(path: str, var: xr.DataArray) -> int:
    if "flag_values" not in var.attrs:
        raise SuperResInputError(
            f"{path} is a grey channel (no flag_values): super-resolution needs a label "
            f"channel whose flag_meanings name {PARTICLES}"
        )
    meanings = _meanings(var)
    if PARTICLES not in meanings:
        raise SuperResInputError(
            f"{path} labels {' / '.join(meanings) or 'nothing named'}: none is {PARTICLES}, "
            "the particles the model resolves"
        )
    if var.dims != ("z", "y", "x"):
        raise SuperResInputError(f"{path} is on {var.dims}, not (z, y, x)")
    return int(np.asarray(var.attrs["flag_values"]).ravel()[meanings.index(PARTICLES)])


def fine_coordinate(coarse: np.ndarray, scale: int) -> np.ndarray:
    """Centres of the ``scale``-times finer voxels covering the extent of ``coarse`` centres.

    >>> fine_coordinate(np.array([0.0, 4.0]), 4).tolist()
    [-1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    """
    coarse = np.asarray(coarse, np.float64)
    step = (coarse[-1] - coarse[0]) / (len(coarse) - 1)
    fine = step / scale
    start = coarse[0] - step / 2 + fine / 2
    return start + fine * np.arange(len(coarse) * scale, dtype=np.float64)


@dataclass(frozen=True)
class SuperResTile:
    """One tile's work as a picklable task: a window of the padded particle indicator and its
    spans → the tile's fine (z, y, x) labels. The noise window is drawn here, from the seed."""

    model: ModelFile
    noise: SeededLatent
    lowres_tensor: str
    noise_tensor: str
    labels_tensor: str

    def __call__(self, indicator: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        feeds = {
            self.lowres_tensor: np.asarray(indicator, np.float32)[np.newaxis, np.newaxis],
            self.noise_tensor: self.noise.window(spans),
        }
        session = self.model.session()
        with self.model.exclusive():
            (labels,) = session.session.run([self.labels_tensor], feeds)
        return np.asarray(labels[0], np.uint8)


def superres(
    source: xr.DataTree | str | os.PathLike[str],
    ref: str,
    *,
    channel: str | None = None,
    group: str | None = None,
    region: Sequence[tuple[int, int]] | None = None,
    seed: int = 0,
    device: Device = "auto",
    tile: int | Literal["auto"] = "auto",
    registry: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> xr.DataTree:
    """Super-resolve a dataset's particle label channel with a registered model.

    ``source``: a fused dataset (folder, ``.zip``, fsspec URL) or an opened tree; ``ref``:
    ``model:name[@version]`` of a ``super-resolve-3d`` model. ``channel``: ``/group/name`` (or
    ``name``) of the label channel, by default the one whose ``flag_meanings`` name ``NMC``.
    ``group``: the new fine scale group (default ``<group>_x<sf>``). ``region``: only these
    coarse cells, ``[(z0, z1), (y0, y1), (x0, x1)]`` half-open (default: all); the fine group
    covers exactly their extent. ``seed``: of the noise, recorded. ``device``: ``auto``,
    ``cpu`` or ``cuda``. ``tile``: coarse cells per tile edge without the context; ``auto``:
    at most about `AUTO_TILE_EDGE` fine voxels, balanced over each axis.

    Returns the input with the new group, whose ``phase`` is computed lazily, tile by tile,
    when written (the ``super-resolve`` activity ends then).
    """
    model = resolve_model(ref, registry=registry, offline=offline)
    card = model.card
    if card.task != TASK:
        raise SuperResInputError(f"{model.ref} is a {card.task} model, not {TASK}")
    if not isinstance(source, xr.DataTree):
        check_reachable(source, "input")
    tree = source if isinstance(source, xr.DataTree) else open_tree(source, storage_options)
    scale, context = size_rule(card)
    used, labels, particle = _input_labels(tree, channel, region, model.ref, context)
    out_group = group or f"{used.split('/')[1]}_x{scale}"
    if out_group in tree.children:
        raise SuperResInputError(f"group /{out_group} exists already; pick another with --group")
    pruned = replace(
        open_model(model, device, cache=cache, offline=offline).file,
        outputs=(card.channels[0].tensor,),  # the Softmax branch is not run
    )
    session = pruned.session()  # here first: a bad model or device fails before any tile
    started = now()
    padded = da.pad((labels.data == particle).astype(np.uint8), context // 2, mode="edge")
    runner = _runner(card, pruned, padded.shape, seed)
    tiles = _tiles(card, padded.shape, tile, labels.shape)
    parameters = {
        **session.provenance(),
        "seed": seed,
        "input_channel": used,
        "region": None if region is None else [list(map(int, r)) for r in region],
        "particle_label": particle,
        "scale_factor": scale,
        "edge_padding_cells": context // 2,
        "noise_rng": card.latent.rng,
        "tile_coarse_cells": [t - context for t in tiles],
        **scheduler_facts(),
    }
    return _with_group(
        tree, out_group, tiled_superres(padded, runner, scale, context, tiles), labels, scale,
        card.channels[0], used=used, model=(model.ref, model.sha256), parameters=parameters,
        started=started,
    )  # fmt: skip


def _input_labels(
    tree: xr.DataTree, channel: str | None, region: Any, ref: str, context: int
) -> tuple[str, xr.DataArray, int]:
    """(channel path, its labels in the region, the particle label), checked for size."""
    group, name, particle = find_particle_channel(tree, channel)
    used = channel_path(group, name)
    labels = tree[group].to_dataset(inherit=False)[name]
    if region is not None:
        labels = labels.isel(_region_slices(used, labels, region))
    _check_size(used, labels, ref, context)
    return used, labels, particle


def coarse_input(card: Any) -> str:
    """The card's input that is not the noise: the coarse particle indicator."""
    return next(t.name for t in card.inputs if t.name != card.latent.tensor)


def _runner(card: Any, model: ModelFile, padded: Sequence[int], seed: int) -> SuperResTile:
    """The tile task: the model, and the noise of ``seed`` over the padded grid."""
    noise = card.latent.tensor
    lowres = coarse_input(card)
    nz = next(int(a.size) for a in card.tensor(noise).axes if a.type == "channel")
    drawn = SeededLatent(card.latent, (1, nz, *padded), seed)
    drawn.window([(0, 1)] * 3)  # refuses a bad seed now
    return SuperResTile(model, drawn, lowres, noise, card.channels[0].tensor)


def _tiles(
    card: Any, padded: Sequence[int], tile: int | str, cells: Sequence[int]
) -> tuple[int, ...]:
    """Window cells per axis (output cells + context), balanced; refused past `MAX_TILES`."""
    scale, context = size_rule(card)
    most = tile if tile != "auto" else max(AUTO_TILE_EDGE // scale, 1)
    tiles = tuple(balanced_tile(n, int(most) + context, context) for n in padded)
    count = tile_count(padded, tiles, context)
    if count > MAX_TILES:
        raise TooManyTilesError(
            f"super-resolving {'×'.join(map(str, cells))} cells ×{scale} needs {count:,} tiles; "
            f"one run schedules at most {MAX_TILES:,}: use --region"
        )
    return tiles


def _region_slices(
    path: str, labels: xr.DataArray, region: Sequence[tuple[int, int]]
) -> dict[str, slice]:
    """``{axis: slice}`` of a region of coarse cells; refused where it leaves the channel."""
    if len(region) != 3:
        raise SuperResInputError(f"a region has three index ranges (z, y, x), got {len(region)}")
    slices = {}
    for axis, (start, stop) in zip(("z", "y", "x"), region, strict=True):
        size = labels.sizes[axis]
        if not 0 <= start < stop <= size:
            raise SuperResInputError(
                f"region {axis} {start}:{stop} is empty or outside {path} (0:{size} along {axis})"
            )
        slices[axis] = slice(int(start), int(stop))
    return slices


def _check_size(path: str, labels: xr.DataArray, ref: str, context: int) -> None:
    """Refuse a 2D input, and one smaller than the model's receptive field."""
    sizes = [labels.sizes[a] for a in ("z", "y", "x")]
    if 1 in sizes:
        raise SuperResInputError(
            f"{path} is 2D ({'×'.join(map(str, sizes))}): super-resolution needs a 3D volume"
        )
    field = context + 1
    small = [f"{a} {n}" for a, n in zip("zyx", sizes, strict=True) if n < field]
    if small:
        raise SuperResInputError(
            f"{path} is too small for {ref}: its receptive field is {field} cells per "
            f"axis, the input has {', '.join(small)}"
        )


def tiled_superres(
    padded: da.Array, runner: SuperResTile, scale: int, context: int, tiles: Sequence[int]
) -> da.Array:
    """The fine labels as a lazy (z, y, x) dask array, one task per window of ``padded``;
    windows of ``tiles`` cells overlap by ``context`` and give ``scale·(cells − context)``."""
    axes = [latent_windows(n, t, context) for n, t in zip(padded.shape, tiles, strict=True)]
    blocks = np.empty([len(w) for w in axes], dtype=object)
    for index in product(*(range(len(w)) for w in axes)):
        spans = [axes[i][j] for i, j in enumerate(index)]
        window = padded[tuple(slice(a, e) for a, e in spans)]
        task = dask.delayed(runner, pure=True)(window, spans)
        shape = tuple(scale * (e - a - context) for a, e in spans)
        blocks[index] = da.from_delayed(task, shape=shape, dtype=np.uint8)
    return da.block(blocks.tolist())


def _with_group(
    tree, group, phase, coarse, scale, channel, *, used, model, parameters, started
) -> xr.DataTree:  # fmt: skip
    """A copy of ``tree`` with the fine group of ``coarse`` (the input labels, with their
    coordinates) added and the activity recorded (to end when written: the tiles run then)."""
    out = fresh_copy(tree)
    activity_id = unique_id("super-resolve", provenance_of(tree)["activities"])
    attrs = {
        "long_name": channel.long_name,
        "units": "1",
        "modality": coarse.attrs.get("modality", channel.modality),
        "origin": "generated",
        "flag_values": list(channel.flag_values or []),
        "flag_meanings": channel.flag_meanings,
        "flag_colors": _colours(channel.flag_meanings, coarse.attrs),
        "provenance": activity_id,
    }
    axes = {
        axis: xr.Variable(
            axis, fine_coordinate(coarse[axis].values, scale), {**coarse[axis].attrs, "units": "um"}
        )
        for axis in ("z", "y", "x")
    }
    out[group] = xr.DataTree(xr.Dataset(
        {"phase": xr.Variable(("z", "y", "x"), phase, attrs)}, coords=axes,
        attrs={"description": f"{math.prod(phase.shape):,} voxels super-resolved from {used}"},
    ))  # fmt: skip
    return record_model_run(
        out, tree, "super-resolve", activity_id, model=model, used=used,
        generated=channel_path(f"/{group}", "phase"), parameters=parameters,
        times=(started, None),
    )  # fmt: skip


DEFAULT_COLOURS = {"pore": "#1f1f1f", "NMC": "#d62728", "CBD": "#2ca02c"}
"""Phase colours where the input has none for a phase (`fusion show` draws with these)."""


def _colours(meanings: str, input_attrs: Mapping[str, Any]) -> list[str]:
    """One colour per fine phase: the input's where it names the phase, else the default."""
    named = str(input_attrs.get("flag_meanings", "")).split()
    given = dict(zip(named, input_attrs.get("flag_colors") or [], strict=False))
    return [given.get(m) or DEFAULT_COLOURS.get(m, "#7f7f7f") for m in meanings.split()]
