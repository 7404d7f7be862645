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
from ._wrap import wrap_outputs

__all__ = ["ShapeError", "generate", "latent_shape"]


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


def generate(
    ref: str,
    shape: Sequence[int],
    *,
    seed: int = 0,
    device: Device = "auto",
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
    outputs = dict(zip(names, session.session.run(None, {card.latent.tensor: latent}), strict=True))
    request = WrapRequest(
        ref=str(resolved.ref),
        sha256=resolved.entry.sha256,
        card=card,
        inputs={card.latent.tensor: latent},
        outputs=outputs,
        seed=seed,
    )
    return wrap_outputs(request, execution=session.provenance(), started=started)
