"""`generate`: sample a registered generator into a fused dataset of the shape asked for.

The latent grid follows from the card: each output space axis is ``scale · latent + offset``
(SliceGAN: ``32 · (l − 2)``), so a requested shape maps back to one latent size per axis. A shape
the model cannot produce exactly is refused with the nearest sizes it can, never cropped or
padded silently. The latent is drawn as the card says (``numpy`` PCG64, seeded), so the same seed
gives the same volume on every machine up to floating-point rounding of the device.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema import FusionError

from ._device import Device, open_session
from ._tiles import tiled_channel
from ._wrap import channel_array, wrap_outputs

__all__ = ["ShapeError", "generate", "latent_shape", "size_rule"]


class ShapeError(FusionError, ValueError):
    """The model cannot produce the requested shape."""


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


def generate(
    ref: str,
    shape: Sequence[int],
    *,
    seed: int = 0,
    device: Device = "auto",
    tile: int | None = 6,
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
        Latent cells per tile edge (SliceGAN: 6 gives 128³-voxel tiles): the volume is made
        lazily, tile by tile, when it is written, so memory is bounded by the tile, not the
        volume. ``None`` makes it in one pass, eagerly.
    registry, cache, offline
        As for ``fusion.registry.pull``.
    """
    from fusion.registry import WrapRequest, draw_latent, load_registry, pull, resolve

    loaded = load_registry(registry, offline=offline)
    resolved = resolve(loaded, ref)
    card = resolved.entry.card
    if card.latent is None:
        raise ShapeError(f"{resolved.ref} is not a generator (its card has no latent)")
    dims = latent_shape(card, shape)
    path = pull(str(resolved.ref), registry=loaded, cache=cache, offline=offline)
    session = open_session(path, device)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    latent = draw_latent(card.latent, dims, seed)
    names = [o.name for o in session.session.get_outputs()]

    def run(window: np.ndarray) -> dict[str, np.ndarray]:
        outputs = session.session.run(None, {card.latent.tensor: window})
        return dict(zip(names, outputs, strict=True))

    request = WrapRequest(
        ref=str(resolved.ref),
        sha256=resolved.entry.sha256,
        card=card,
        inputs={card.latent.tensor: latent},
        outputs={} if tile else run(latent),
        seed=seed,
    )
    values = None
    if tile:
        scale, context = size_rule(card)
        values = {
            channel.name: tiled_channel(
                latent,
                lambda w, _c=channel: channel_array(card, _c, run(w)),
                scale,
                context,
                tile,
                np.dtype(channel.dtype),
            )
            for channel in card.channels
        }
    execution = {**session.provenance(), "tile_latent_cells": tile}
    return wrap_outputs(request, execution=execution, started=started, values=values)
