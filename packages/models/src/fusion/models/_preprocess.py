"""The card's preprocessing: how a user's image becomes a model input.

Percentiles are taken over the whole input (every slice of a stack), never per tile, so tiles
are normalised alike and cannot disagree at their seams. For integer images (what the SEM and
XCT loaders return) they come from an exact histogram built slice by slice, so memory stays
bounded by one slice; float images are read once to compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["Normaliser", "exact_percentiles", "normaliser"]

Normaliser = Callable[[np.ndarray], np.ndarray]


def exact_percentiles(slices: Iterable[np.ndarray], percentiles: Sequence[float]) -> list[float]:
    """numpy's linear-interpolation percentiles of all values of ``slices`` together.

    8- and 16-bit unsigned slices are counted into a histogram one at a time (memory: one slice
    plus 65,536 counters); other dtypes are gathered and handed to ``np.percentile``.

    >>> data = np.arange(1000, dtype=np.uint16).reshape(10, 10, 10)[::-1]
    >>> exact_percentiles(data, [0.5, 50, 99.5]) == np.percentile(data, [0.5, 50, 99.5]).tolist()
    True
    """
    counts, gathered = np.zeros(2**16, np.int64), []
    for piece in slices:
        block = np.asarray(piece)
        if block.dtype in (np.uint8, np.uint16):
            counts += np.bincount(block.ravel(), minlength=counts.size)
        else:
            gathered.append(block.astype(np.float64).ravel())
    if gathered:
        values = np.concatenate([*gathered, np.repeat(np.arange(counts.size), counts)])
        return [float(v) for v in np.percentile(values, percentiles)]
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    if total == 0:
        raise ValueError("percentiles of an empty image")

    def order_statistic(k: int) -> int:  # the k-th smallest value, 0-based
        return int(np.searchsorted(cumulative, k, side="right"))

    out = []
    for q in percentiles:
        position = q / 100 * (total - 1)
        below = int(np.floor(position))
        v0, v1 = order_statistic(below), order_statistic(min(below + 1, total - 1))
        out.append(float(v0 + (v1 - v0) * (position - below)))
    return out


def normaliser(
    steps: Sequence[Any], slices: Callable[[], Iterable[np.ndarray]] | None = None
) -> Normaliser:
    """The card's preprocessing steps as one function of an array (float32 out).

    ``slices()`` yields the whole input (e.g. every z-slice of the channel, read one at a time);
    a ``scale_range`` step takes its percentiles from it once, here, so the function treats
    every tile alike.

    >>> from types import SimpleNamespace as Step
    >>> image = np.arange(201, dtype=np.uint8)
    >>> f = normaliser([Step(op="scale_range", min_percentile=0, max_percentile=50),
    ...                 Step(op="clip", min=0.0, max=1.0)], lambda: [image])
    >>> f(image)[[0, 50, 100, 200]].tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    resolved: list[tuple[str, float, float]] = []
    for step in steps:
        if step.op == "scale_range":
            if slices is None:
                raise ValueError("scale_range needs the whole input to take its percentiles")
            lo, hi = exact_percentiles(slices(), [step.min_percentile, step.max_percentile])
            resolved.append(("range", lo, max(hi - lo, 1e-6)))  # (x − lo) / (hi − lo)
        elif step.op == "scale_linear":
            resolved.append(("linear", step.gain, step.offset))  # x · gain + offset
        elif step.op == "clip":
            resolved.append(("clip", step.min, step.max))
        else:  # the card's union admits no other op
            raise ValueError(f"unknown preprocessing op {step.op!r}")

    def apply(image: np.ndarray) -> np.ndarray:
        x = np.asarray(image, dtype=np.float32)
        for op, a, b in resolved:
            if op == "range":
                x = (x - np.float32(a)) / np.float32(b)
            elif op == "linear":
                x = x * np.float32(a) + np.float32(b)
            else:
                x = np.clip(x, np.float32(a), np.float32(b))
        return x

    return apply
