"""Arrays against a card: latents from seeds, shape rules, and reproduction within a tolerance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import product
from typing import TYPE_CHECKING

from fusion.base import FusionError

from ._card import LatentSpec, ModelCard, ParameterizedSize, SizeReference, TensorDescr, Tolerance

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LATENT_BLOCK",
    "LATENT_WHOLE_LIMIT",
    "LatentTooLargeError",
    "compare",
    "draw_latent",
    "expected_shape",
    "shape_problems",
]


LATENT_BLOCK = 4
"""Cells per space axis of one ``numpy-philox-blocks`` block (see `LatentSpec`)."""
LATENT_WHOLE_LIMIT = 1 << 30
"""Bytes of the largest latent drawn whole: a ``numpy-pcg64`` latent, or a window."""


class LatentTooLargeError(FusionError, ValueError):
    """The latent asked for is too large to draw in memory at once."""


def draw_latent(
    spec: LatentSpec,
    shape: tuple[int, ...],
    seed: int,
    *,
    window: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """The noise a generator gets for ``seed``: float32, drawn as the card's ``latent`` says.

    ``window``, one ``(start, stop)`` per space axis (the axes after batch and channel), draws
    only those cells of the latent of ``shape``: with ``numpy-philox-blocks`` each cell
    depends only on the seed and its position, so a window costs its own size, whatever the
    size of the whole; with ``numpy-pcg64`` the whole latent is drawn and cut.

    >>> spec = LatentSpec(tensor="z", distribution="standard-normal")
    >>> z = draw_latent(spec, (1, 2, 3), seed=0)
    >>> z.dtype, z.shape, bool((z == draw_latent(spec, (1, 2, 3), seed=0)).all())
    (dtype('float32'), (1, 2, 3), True)
    >>> blocks = spec.model_copy(update={"rng": "numpy-philox-blocks"})
    >>> whole = draw_latent(blocks, (1, 2, 9, 9), seed=5)
    >>> part = draw_latent(blocks, (1, 2, 9, 9), seed=5, window=[(3, 7), (2, 9)])
    >>> bool((part == whole[:, :, 3:7, 2:9]).all())
    True
    """
    import numpy as np

    shape = tuple(int(n) for n in shape)
    spans = _window_spans(shape, window)
    if spec.rng == "numpy-pcg64":
        _refuse_large(shape)
        whole = _draw(np.random.default_rng(seed), spec.distribution, shape)
        return whole if window is None else whole[(slice(None),) * 2 + _slices(spans)]
    _refuse_large((*shape[:2], *(e - a for a, e in spans)))
    return _draw_blocks(spec.distribution, shape[:2], spans, seed)


def _window_spans(
    shape: tuple[int, ...], window: Sequence[tuple[int, int]] | None
) -> list[tuple[int, int]]:
    """The window's (start, stop) per space axis; the whole axis where no window is given."""
    space = shape[2:]
    if window is None:
        return [(0, n) for n in space]
    spans = [(int(a), int(e)) for a, e in window]
    if len(spans) != len(space) or any(
        not 0 <= a < e <= n for (a, e), n in zip(spans, space, strict=True)
    ):
        raise ValueError(f"window {spans} is not inside the latent's space axes {space}")
    return spans


def _refuse_large(shape: tuple[int, ...]) -> None:
    nbytes = 4 * math.prod(shape)
    if nbytes > LATENT_WHOLE_LIMIT:
        raise LatentTooLargeError(
            f"a latent of shape {shape} is {nbytes / 2**30:,.1f} GiB of float32, more than the "
            f"{LATENT_WHOLE_LIMIT / 2**30:g} GiB drawn at once; a card whose latent rng is "
            "numpy-philox-blocks draws it tile by tile, at any size"
        )


def _draw(rng: np.random.Generator, distribution: str, shape: tuple[int, ...]) -> np.ndarray:
    if distribution == "standard-normal":
        return rng.standard_normal(shape, dtype="float32")
    return rng.random(shape, dtype="float32")


def _draw_blocks(
    distribution: str, lead: tuple[int, ...], spans: list[tuple[int, int]], seed: int
) -> np.ndarray:
    """The cells ``spans`` of a ``numpy-philox-blocks`` latent, block by block."""
    import numpy as np

    if not 0 <= seed < 1 << 128:
        raise ValueError(f"a numpy-philox-blocks seed is in [0, 2**128), got {seed}")
    if not 1 <= len(spans) <= 3:
        raise ValueError(f"a numpy-philox-blocks latent has 1 to 3 space axes, not {len(spans)}")
    out = np.empty((*lead, *(e - a for a, e in spans)), dtype=np.float32)
    block = LATENT_BLOCK
    ranges = [range(a // block, (e - 1) // block + 1) for a, e in spans]
    keep = (slice(None),) * len(lead)
    for index in product(*ranges):
        counter = [0, *index, *[0] * (3 - len(index))]
        rng = np.random.Generator(np.random.Philox(key=seed, counter=counter))
        values = _draw(rng, distribution, (*lead, *[block] * len(index)))
        cut = [_overlap(i * block, block, span) for i, span in zip(index, spans, strict=True)]
        out[keep + tuple(target for _, target in cut)] = values[keep + tuple(s for s, _ in cut)]
    return out


def _overlap(start: int, block: int, span: tuple[int, int]) -> tuple[slice, slice]:
    """Where the block of cells ``[start, start + block)`` meets ``span``: (in the block, in
    the span)."""
    low, high = max(span[0], start), min(span[1], start + block)
    return slice(low - start, high - start), slice(low - span[0], high - span[0])


def _slices(spans: list[tuple[int, int]]) -> tuple[slice, ...]:
    return tuple(slice(a, e) for a, e in spans)


def expected_shape(
    card: ModelCard, tensor: TensorDescr, shapes: Mapping[str, tuple[int, ...]]
) -> list[int | None]:
    """Each axis's size as the card fixes it, given the shapes of the inputs (None: any size
    or not fixed by a rule). SliceGAN: latent z of 4 gives output z = 32·4 − 64 = 64."""
    sizes: list[int | None] = []
    for axis in tensor.axes:
        if isinstance(axis.size, int):
            sizes.append(axis.size)
        elif isinstance(axis.size, SizeReference):
            sizes.append(_referenced(card, axis.size, shapes))
        else:
            sizes.append(None)
    return sizes


def _referenced(
    card: ModelCard, ref: SizeReference, shapes: Mapping[str, tuple[int, ...]]
) -> int | None:
    source, shape = card.tensor(ref.tensor), shapes.get(ref.tensor)
    if source is None or shape is None or len(shape) != len(source.axes):
        return None
    size = shape[[a.name for a in source.axes].index(ref.axis)]
    value = ref.scale * size + ref.offset
    return int(value) if float(value).is_integer() else None


def shape_problems(card: ModelCard, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """What breaks the card's size rules in arrays of these shapes (inputs and outputs)."""
    problems = []
    for tensor in (*card.inputs, *card.outputs):
        if tensor.name not in shapes:
            continue
        shape = shapes[tensor.name]
        if len(shape) != len(tensor.axes):
            problems.append(
                f"{tensor.name!r} has {len(shape)} axes, the card {len(tensor.axes)} "
                f"({', '.join(a.name for a in tensor.axes)})"
            )
            continue
        rules = expected_shape(card, tensor, shapes)
        for axis, size, rule in zip(tensor.axes, shape, rules, strict=True):
            if rule is not None and size != rule:
                problems.append(f"{tensor.name}.{axis.name} is {size}, the card says {rule}")
            step = axis.size
            if isinstance(step, ParameterizedSize) and (
                size < step.min or (size - step.min) % step.step
            ):
                problems.append(
                    f"{tensor.name}.{axis.name} is {size}, the card says {step.min} + n·{step.step}"
                )
    return problems


def compare(name: str, got: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> str | None:
    """None if ``got`` reproduces ``expected`` within the tolerance, else what differs.

    >>> import numpy as np
    >>> compare("y", np.zeros(4), np.zeros(4), Tolerance()) is None
    True
    >>> compare("y", np.array([0, 1.0]), np.zeros(2), Tolerance())
    "output 'y': 1 of 2 elements (500000 ppm) differ beyond rtol=0.0001, atol=1e-05 (allowed 0 ppm); max |Δ| = 1 at (1,)"
    """
    import numpy as np

    if got.shape != expected.shape:
        return f"output {name!r}: shape {got.shape}, expected {expected.shape}"
    a, b = got.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isclose(a, b, rtol=tolerance.rtol, atol=tolerance.atol)
    count = int(bad.sum())
    ppm = count / max(bad.size, 1) * 1e6
    if ppm <= tolerance.mismatched_ppm:
        return None
    diff = np.where(np.isfinite(a - b), np.abs(a - b), np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (
        f"output {name!r}: {count} of {bad.size} elements ({ppm:.0f} ppm) differ beyond "
        f"rtol={tolerance.rtol:g}, atol={tolerance.atol:g} (allowed {tolerance.mismatched_ppm:g} "
        f"ppm); max |Δ| = {float(diff[worst]):.3g} at {tuple(int(i) for i in worst)}"
    )
