"""Arrays against a card: latents from seeds, shape rules, and reproduction within a tolerance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._card import LatentSpec, ModelCard, ParameterizedSize, SizeReference, TensorDescr, Tolerance

if TYPE_CHECKING:
    import numpy as np

__all__ = ["compare", "draw_latent", "expected_shape", "shape_problems"]


def draw_latent(spec: LatentSpec, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The noise a generator gets for ``seed``: float32, drawn as the card's ``latent`` says.

    >>> spec = LatentSpec(tensor="z", distribution="standard-normal")
    >>> z = draw_latent(spec, (1, 2, 3), seed=0)
    >>> z.dtype, z.shape, bool((z == draw_latent(spec, (1, 2, 3), seed=0)).all())
    (dtype('float32'), (1, 2, 3), True)
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if spec.distribution == "standard-normal":
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.random(shape, dtype=np.float32)


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
