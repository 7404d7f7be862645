"""`segment`: label every pixel of a dataset's grayscale channel with a registered 2D model.

Sliding-window inference with overlap and blending. The image is normalised once, as the card
says, over the whole input; then square tiles (sides a multiple of the model's size step, origins
on that step, so the network's pooling grid matches one pass over the whole image) run one at a
time. Where two tiles overlap, each tile's class probabilities are weighted by a ramp that is 0
over the ``overlap // 4`` pixels next to its cut edge (the pixels that saw zero padding instead
of image) and rises on a raised cosine to 1; the ramps of two neighbours sum to one, so the blend
has no seam. Rows of tiles stream through a band buffer: memory is bounded by the tile row, not
by the image, and a stack of slices is labelled slice by slice, lazily, as it is written. Each
slice is a dask task (`SliceLabeller`, picklable): under a dask.distributed cluster
(`fusion.schema.use_scheduler`, ``--scheduler``) slices run on its workers side by side and
each worker writes the chunks of the slices it labelled.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema import FusionError, active_client, check_reachable, scheduler_facts, unique_id
from fusion.schema.provenance import entity_id_for, model_entity, now, provenance_of, record

from ._device import Device
from ._open import open_model, resolve_model
from ._preprocess import Normaliser, normaliser
from ._sessions import ModelFile

__all__ = [
    "SegmentInputError",
    "SliceLabeller",
    "blend_weights",
    "find_grey_channel",
    "open_tree",
    "segment",
    "segment_image",
    "tile_origins",
]

Progress = Callable[[int, int], None] | None


class SegmentInputError(FusionError, ValueError):
    """The input has no channel the model can segment, or the choice is ambiguous."""


# --------------------------------------------------------------------------------------------------
# Tiling arithmetic (pure functions)


def tile_origins(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of tiles of ``tile`` pixels covering ``[0, length)``, overlapping by at
    least ``overlap``; the last tile ends at ``length``. ``length`` ≤ ``tile`` gives one tile.

    >>> tile_origins(1000, 256, 64)
    [0, 192, 384, 576, 744]
    >>> tile_origins(200, 256, 64)
    [0]
    """
    if length <= tile:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    origins = list(range(0, length - tile, stride))
    return [*origins, length - tile]


def blend_weights(size: int, overlap: int, before: bool, after: bool) -> np.ndarray:
    """1-D weights of one tile: 1 inside; a ramp over the first (last) ``overlap`` pixels where
    another tile lies before (after) it, 0 over its outer ``overlap // 4``.

    Two neighbours that overlap by exactly ``overlap`` have ramps summing to one.

    >>> w = blend_weights(16, 8, before=True, after=False)
    >>> w[:2].tolist(), bool(np.all(w[8:] == 1))
    ([0.0, 0.0], True)
    >>> a, b = blend_weights(16, 8, False, True), blend_weights(16, 8, True, False)
    >>> bool(np.allclose(a[8:] + b[:8], 1))
    True
    """
    weights = np.ones(size, np.float32)
    if overlap <= 0:
        return weights
    margin = overlap // 4
    t = np.clip((np.arange(overlap) + 0.5 - margin) / max(overlap - 2 * margin, 1), 0, 1)
    ramp = (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)
    if before:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if after:
        weights[size - overlap :] = np.minimum(weights[size - overlap :], ramp[::-1])
    return weights


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=0, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=0, keepdims=True)
    return shifted


# --------------------------------------------------------------------------------------------------
# One image


def segment_image(
    image: np.ndarray,
    run: Callable[[np.ndarray], np.ndarray],
    *,
    tile: int = 512,
    overlap: int = 64,
    step: int = 16,
    progress: Progress = None,
) -> np.ndarray:
    """Labels (H, W) uint8 of one normalised image (H, W) float32.

    ``run`` maps a (1, 1, h, w) float32 tile, h and w multiples of ``step``, to (1, C, h, w)
    logits. The image is reflect-padded at the bottom and right to a multiple of ``step``.
    """
    if tile % step or overlap % step:
        raise ValueError(f"tile {tile} and overlap {overlap} must be multiples of {step}")
    height, width = image.shape
    padded = np.pad(image, ((0, -height % step), (0, -width % step)), mode="reflect")
    rows_total, cols_total = padded.shape
    ys = tile_origins(rows_total, tile, overlap)
    xs = tile_origins(cols_total, tile, overlap)
    th, tw = min(tile, rows_total), min(tile, cols_total)
    labels = np.empty((height, width), np.uint8)
    # Weighted class probabilities only: every pixel gets a positive total weight (the zero
    # margins lie inside a neighbour's full-weight part), so the argmax of the weighted sum is
    # the argmax of the weighted mean and the weights' sum is never needed.
    wxs = [blend_weights(tw, overlap, j > 0, j < len(xs) - 1) for j in range(len(xs))]
    carry: np.ndarray | None = None  # weighted sums of rows the next tile row continues
    done = 0
    for i, y in enumerate(ys):
        wy = blend_weights(th, overlap, before=i > 0, after=i < len(ys) - 1)
        num: np.ndarray | None = None
        for x, wx in zip(xs, wxs, strict=True):
            window = padded[y : y + th, x : x + tw][np.newaxis, np.newaxis]
            probs = _softmax(np.asarray(run(np.ascontiguousarray(window)), np.float32)[0])
            if num is None:
                num = np.zeros((probs.shape[0], th, cols_total), np.float32)
            num[:, :, x : x + tw] += probs * (wy[:, np.newaxis] * wx[np.newaxis, :])
            done += 1
            if progress is not None:
                progress(done, len(ys) * len(xs))
        assert num is not None
        if carry is not None:  # rows [y, previous end) already hold the tile row above
            num[:, : carry.shape[1]] += carry
        end = ys[i + 1] if i + 1 < len(ys) else y + th  # rows finished by this tile row
        stop = min(end, height)
        if y < stop:
            labels[y:stop] = num[:, : stop - y, :width].argmax(axis=0)
        carry = num[:, end - y :].copy()
    return labels


# --------------------------------------------------------------------------------------------------
# A dataset


def channel_path(group: str, name: str) -> str:
    """The format's channel path ``/group/name`` of a variable in the node at ``group``.

    >>> channel_path("/image", "phase")
    '/image/phase'
    """
    return f"{group.rstrip('/')}/{name}"


def find_grey_channel(tree: xr.DataTree, channel: str | None = None) -> tuple[str, str]:
    """(group path, variable name) of the channel to segment.

    ``channel`` is ``/group/name`` or a bare ``name``; by default the one non-label (z, y, x)
    channel of the dataset.
    """
    candidates = []
    for node in tree.subtree:
        for name, var in node.to_dataset(inherit=False).data_vars.items():
            if var.dims == ("z", "y", "x") and "flag_values" not in var.attrs:
                candidates.append((node.path, str(name)))
    paths = [channel_path(group, name) for group, name in candidates]
    if channel is not None:
        wanted = [c for c, p in zip(candidates, paths, strict=True) if channel in (c[1], p)]
        if len(wanted) == 1:
            return wanted[0]
        raise SegmentInputError(
            f"no single grayscale (z, y, x) channel {channel!r}; candidates: {paths or 'none'}"
        )
    if len(candidates) != 1:
        raise SegmentInputError(
            f"expected one grayscale (z, y, x) channel, found {paths or 'none'}: "
            "name one with --channel /group/name"
        )
    return candidates[0]


def open_tree(location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None):
    """A fused dataset opened lazily (dask chunks as stored) from a folder, zip or URL."""
    from fusion.schema import open_group

    return xr.open_datatree(open_group(location, storage_options).store, engine="zarr", chunks={})


def segment(
    source: xr.DataTree | str | os.PathLike[str],
    ref: str,
    *,
    channel: str | None = None,
    name: str | None = None,
    device: Device = "auto",
    tile: int = 512,
    overlap: int = 64,
    registry: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress = None,
) -> xr.DataTree:
    """Segment a dataset's grayscale channel with a registered ``segment-2d`` model.

    Parameters
    ----------
    source
        A fused dataset: a DataTree, a folder, a ``.zip`` or an fsspec URL.
    ref
        ``model:name[@version]``, e.g. ``model:unet-nmc``.
    channel
        The channel to segment (``/group/name`` or ``name``); by default the only grayscale one.
    name
        Name of the new channel; by default the card's (``phase``).
    device
        ``auto``, ``cpu`` or ``cuda`` (an error if unusable).
    tile, overlap
        Tile side and overlap in pixels (multiples of the model's size step).
    progress
        Called as ``progress(tiles_done, tiles_total)``, counted over every slice (not on a
        cluster: its workers have no way back to this process's callback).

    Returns
    -------
    xarray.DataTree
        The input with the new label channel beside the segmented one (lazy: slices are
        labelled when it is written), and a ``segment`` activity in the provenance naming the
        model (``model:name@version`` and sha256) and the input channel.
    """
    model = resolve_model(ref, registry=registry, offline=offline)
    card = model.card
    if card.task != "segment-2d":
        raise SegmentInputError(f"{model.ref} is a {card.task} model, not segment-2d")
    out_channel = card.channels[0]
    label_name = name or out_channel.name
    tree, group, variable = _open_input(source, storage_options, channel, label_name)
    grey = tree[group].to_dataset(inherit=False)[variable]
    opened = open_model(model, device, cache=cache, offline=offline)
    session = opened.session()  # here first: a bad model or device fails before any slice
    started = now()
    input_name = card.inputs[0].name
    steps = next((p.steps for p in card.preprocessing if p.tensor == input_name), [])
    labeller = SliceLabeller(
        model=opened.file,
        input_name=input_name,
        prepare=normaliser(steps, _slices(grey)),
        tile=tile,
        overlap=overlap,
        step=_size_step(card.inputs[0]),
        dtype=np.dtype(out_channel.dtype).str,
        progress=_stack_progress(progress, grey.sizes["z"]),
    )
    labels, ended = _label_stack(labeller, grey.variable), now()
    parameters = {
        **session.provenance(),
        "tile_px": tile,
        "overlap_px": overlap,
        "input_channel": channel_path(group, variable),
        "preprocessing": [s.model_dump() for s in steps],
        **scheduler_facts(),
    }
    attrs = _label_attrs(out_channel, grey.attrs.get("modality", out_channel.modality))
    return _with_channel(
        tree, group, label_name, xr.Variable(("z", "y", "x"), labels, attrs),
        used=channel_path(group, variable), model=(model.ref, model.sha256),
        parameters=parameters, times=(started, ended),
    )  # fmt: skip


def _open_input(
    source: xr.DataTree | str | os.PathLike[str],
    storage_options: Mapping[str, Any] | None,
    channel: str | None,
    label_name: str,
) -> tuple[xr.DataTree, str, str]:
    """(tree, group path, variable) of the channel to segment; the new label's name must be
    free in its group."""
    if not isinstance(source, xr.DataTree):
        check_reachable(source, "input")
    tree = source if isinstance(source, xr.DataTree) else open_tree(source, storage_options)
    group, variable = find_grey_channel(tree, channel)
    if label_name in tree[group].to_dataset(inherit=False).variables:
        raise SegmentInputError(
            f"{channel_path(group, label_name)} exists already; pick another name with --name"
        )
    return tree, group, variable


def _slices(grey: xr.DataArray) -> Callable[[], Iterator[np.ndarray]]:
    """The (y, x) slices of a (z, y, x) channel, one at a time, each time it is called."""

    def slices() -> Iterator[np.ndarray]:
        for z in range(grey.sizes["z"]):
            yield np.asarray(grey.isel(z=z).values)

    return slices


def _label_attrs(channel: Any, modality: str) -> dict[str, Any]:
    """The attributes of the new label channel, as the card's channel says."""
    return {
        "long_name": channel.long_name,
        "units": channel.units,
        "modality": modality,
        "origin": "inferred",
        "flag_values": list(channel.flag_values or []),
        "flag_meanings": channel.flag_meanings,
    }


def _size_step(tensor: Any) -> int:
    steps = [getattr(a.size, "step", 1) for a in tensor.axes if a.type == "space"]
    return int(np.lcm.reduce(steps)) if steps else 1


@dataclass(frozen=True)
class SliceLabeller:
    """One slice's work as a picklable task: a (1, H, W) grey block → its (1, H, W) labels.
    Runs in whichever process the scheduler picks (see `ModelFile`); ``prepare`` is the card's
    normalisation with the percentiles of the whole input already taken."""

    model: ModelFile
    input_name: str
    prepare: Normaliser
    tile: int
    overlap: int
    step: int
    dtype: str
    progress: Progress = None
    """Per tile, in this process only (None on a cluster)."""

    def __call__(self, block: np.ndarray) -> np.ndarray:
        session = self.model.session()

        def run(window: np.ndarray) -> np.ndarray:
            return session.session.run(None, {self.input_name: window})[0]

        with self.model.exclusive():  # memory: one band of one slice per every-core session
            image = self.prepare(np.asarray(block[0]))
            labels = segment_image(
                image, run, tile=self.tile, overlap=self.overlap, step=self.step,
                progress=self.progress,
            )  # fmt: skip
        return labels[np.newaxis].astype(self.dtype, copy=False)


def _stack_progress(progress: Progress, slices: int) -> Progress:
    """A per-slice tile progress (done, tiles per slice) as tiles done over the whole stack,
    whatever order slices run in; None on a cluster (its workers cannot call back here)."""
    if progress is None or active_client() is not None:
        return None
    done = itertools.count(1)
    return lambda _, tiles: progress(next(done), slices * tiles)


def _label_stack(labeller: SliceLabeller, grey: xr.Variable) -> Any:
    """A (z, y, x) dask array of labels, one task per slice, computed when written."""
    dtype = np.dtype(labeller.dtype)
    slices = grey.chunk({"z": 1, "y": -1, "x": -1}).data
    return slices.map_blocks(labeller, dtype=dtype, meta=np.empty((0, 0, 0), dtype))


def _with_channel(tree, group, name, variable, *, used, model, parameters, times) -> xr.DataTree:
    """A copy of ``tree`` with ``variable`` added to ``group`` and the activity recorded (to
    end when written: the slices are labelled then)."""
    out = fresh_copy(tree)
    activity_id = unique_id("segment", provenance_of(tree)["activities"])
    variable.attrs["provenance"] = activity_id
    out[group].dataset = out[group].to_dataset(inherit=False).assign({name: variable})
    return record_model_run(
        out, tree, "segment", activity_id, model=model, used=used,
        generated=channel_path(group, name), parameters=parameters, times=times,
    )  # fmt: skip


def fresh_copy(tree: xr.DataTree) -> xr.DataTree:
    """A shallow copy of ``tree`` to add to, written afresh: the source's chunking and codecs
    do not apply."""
    out = tree.copy(deep=False)
    for node in out.subtree:
        node.dataset = node.to_dataset(inherit=False).drop_encoding()
    return out


def record_model_run(
    out, tree, kind, activity_id, *, model, used, generated, parameters, times
) -> xr.DataTree:  # fmt: skip
    """``out`` with the ``kind`` activity of a registered model run on ``tree``'s channel
    ``used`` recorded: the model as an entity (ref and sha256), the channel it made, to end
    when written (its tiles or slices run then)."""
    entity = model_entity(*model)
    model_id = entity_id_for(tree, entity, f"model-{model[0].split(':', 1)[1].split('@')[0]}")
    return record(
        out, kind, activity_id=activity_id, used=[model_id, used], generated=[generated],
        parameters=parameters, software="fusion-models", started=times[0], ended=times[1],
        entities={model_id: entity}, lazy=True,
    )  # fmt: skip
