"""Serial-section EBSD: `fusion.loaders.load("ebsd", sections)` against orix reading the same
59 files one by one (#24: target ≤ 1.2×), interleaved in one process, medians of 7 runs.

Usage (from the repository root)::

    uv run python benchmarks/bench_ebsd_sections.py

"Ours" is the whole load: every section read by orix (``io.load``), checked (header phase
blocks, grid from the x/y columns, the same grid and phases as the first), hashed (sha256 in a
background thread), converted (conjugated quaternions on the grid) and stacked into one tree.
"Ours, sections only" is the per-section part without the hashing and the stacking.
"""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

from orix import io

from fusion.loaders import LoaderWarning, load
from fusion.loaders.ebsd import read_section

SECTIONS = (
    Path(__file__).resolve().parents[1].parent / "shared/data/instruments/ebsd/serial_sections"
)
RUNS = 7


def seconds(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    files = sorted(SECTIONS.glob("S*.ANG"))
    warnings.simplefilter("ignore", LoaderWarning)
    load("ebsd", files[:2], slice_spacing_um=0.4)  # imports and caches warm
    times: dict[str, list[float]] = {"orix": [], "ours": [], "sections": []}
    for _ in range(RUNS):
        times["orix"].append(seconds(lambda: [io.load(f, autogen_names=False) for f in files]))
        times["ours"].append(seconds(lambda: load("ebsd", files, slice_spacing_um=0.4)))
        times["sections"].append(seconds(lambda: [
            read_section(f, None, metadata=False, sha256=lambda: "0" * 64) for f in files
        ]))  # fmt: skip
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"{len(files)} sections, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB\n")
    print("| reader | median of 7 (s) | / orix |")
    print("|---|---:|---:|")
    for name, label in (("orix", "orix `io.load`, file by file"), ("ours", "`load('ebsd', files)`"),
                        ("sections", "ours, sections only (no hash, no stack)")):  # fmt: skip
        print(f"| {label} | {median[name]:.3f} | {median[name] / median['orix']:.2f}× |")


if __name__ == "__main__":
    main()
