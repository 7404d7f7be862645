"""Two-point correlation of a volume: `fusion.models.metrics.two_point_correlation` (pairs
counted on boolean views) against the straightforward estimate it replaced (float64 copies of
the two shifted volumes, multiplied and averaged), on the same labels, in one process.

Usage (from the repository root)::

    uv run python benchmarks/bench_metrics.py --edge 256 --repeat 3

Prints medians over the repeats for 3 phases × 3 axes × r = 0..31 and checks that both give
identical values; the numbers in docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fusion.models.metrics import two_point_correlation


def float_copies(labels: np.ndarray, phase: int, axis: int, max_distance: int = 32) -> np.ndarray:
    """The estimate before: shifted float64 copies, multiplied and averaged."""
    inside = (labels == phase).astype(np.float64)
    n = labels.shape[axis]
    out = np.empty(min(max_distance, n))
    for r in range(out.size):
        a = np.take(inside, np.arange(0, n - r), axis=axis)
        b = np.take(inside, np.arange(r, n), axis=axis)
        out[r] = float(np.mean(a * b))
    return out


def timed(function, labels: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    values = np.array([function(labels, p, a) for p in range(3) for a in range(3)])
    return time.perf_counter() - start, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=256, help="volume edge (voxels)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    labels = np.random.default_rng(0).integers(0, 3, (args.edge,) * 3).astype(np.uint8)
    ours, before = [], []
    for _ in range(args.repeat):  # alternate, so that both see the same machine load
        seconds, new = timed(two_point_correlation, labels)
        ours.append(seconds)
        seconds, old = timed(float_copies, labels)
        before.append(seconds)
        if not np.array_equal(new, old):
            raise SystemExit(f"values differ by up to {np.abs(new - old).max():.3g}")
    ours_s, before_s = statistics.median(ours), statistics.median(before)
    print(f"| {args.edge}³, 3 phases × 3 axes × 32 shifts | {ours_s:.2f} s | {before_s:.2f} s "
          f"| **{before_s / ours_s:.1f}×** | identical |")  # fmt: skip


if __name__ == "__main__":
    main()
