"""Tortuosity factor of the real NMC volumes: fusion.analysis against TauFactor's reference.

Usage (from the repository root, with ../shared/data beside it)::

    uv run python benchmarks/bench_tortuosity.py

For each case (volume, pore phase conducting, axis) it times `fusion.analysis.tortuosity_factor`
and prints a markdown table of τ, D_eff, CG iterations and wall time beside the numbers the
micrographs README records for TauFactor 1.2.1. Where ``taufactor`` (and so torch) can be
imported, it also runs ``taufactor.Solver`` on CPU with a tight convergence criterion
(``conv_crit=1e-4``) and adds its τ, its time and the relative difference.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import tifffile

from fusion.analysis import tortuosity_factor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "micrographs"
# (file, axis, τ recorded with TauFactor 1.2.1 in the micrographs README)
CASES = [
    ("nmc_xct_3d_3phase_128cube.tif", 0, 2.25),
    ("nmc_xct_3d_3phase_128cube.tif", 1, 2.41),
    ("nmc_xct_3d_3phase_128cube.tif", 2, 2.85),
    ("nmc_xct_3d_3phase_30x252x253.tif", 1, 2.11),
    ("nmc_xct_3d_3phase_30x252x253.tif", 2, 2.15),
]


def taufactor_tau(conducting: np.ndarray, axis: int) -> tuple[float, float] | None:
    """TauFactor's τ and wall time, or None where it is not installed."""
    try:
        import taufactor
    except ImportError:
        return None
    start = time.perf_counter()
    solver = taufactor.Solver(np.moveaxis(conducting, axis, 0).astype(np.uint8), device="cpu")
    solver.solve(verbose=False, conv_crit=1e-4, iter_limit=100_000)
    return float(np.ravel(solver.tau)[0]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the micrographs folder")
    args = parser.parse_args()
    print(
        "| volume | axis | τ | D_eff | CG iterations | s | README τ | TauFactor τ | s | rel. diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, axis, readme_tau in CASES:
        labels = tifffile.imread(args.data / name)
        start = time.perf_counter()
        result = tortuosity_factor(labels, conducting_label=0, axis=axis)
        seconds = time.perf_counter() - start
        row = (
            f"| {name} | {axis} | {result.tau:.5f} | {result.d_eff:.5f} | {result.iterations} "
            f"| {seconds:.1f} | {readme_tau} |"
        )
        reference = taufactor_tau(labels == 0, axis)
        if reference is None:
            row += " not installed | | |"
        else:
            tau, tf_seconds = reference
            row += f" {tau:.5f} | {tf_seconds:.1f} | {abs(result.tau - tau) / tau:.1e} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
