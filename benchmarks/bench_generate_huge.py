"""Huge sizes: refused up front without allocating, or streamed in bounded memory (#25).

Usage (from the repository root)::

    uv run python benchmarks/bench_generate_huge.py              # 100000³ refusals, 2048³ streamed
    uv run python benchmarks/bench_generate_huge.py --size 512   # a quicker streamed run

Each run is `fusion generate` in a fresh process (``python -m fusion.cli``), so its wall time
includes the start-up imports and its peak resident memory (VmHWM, read by the parent from
``getrusage`` of the child) is its own:

1. ``--shape 100000 100000 100000 -o TMP/huge.zarr``: refused before the model opens, because
   the disk cannot hold it (`fusion.schema.check_room`);
2. the same to ``memory://``, which has no disk to ask: refused because it needs more tiles
   than one run schedules (`fusion.models._generate.MAX_TILES`);
3. ``--shape N N N`` (default 2048) written to a folder: every tile draws its own window of the
   counter-based latent, so memory is bounded by the tiles in flight, not the volume.

Prints a markdown table (exit code, wall time, peak RSS, store size) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "model:slicegan-nmc"


def run_fusion(args: list[str]) -> dict:
    """One ``fusion`` command in a child process: exit code, seconds, its peak RSS (MiB), the
    last line it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli", *args], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    lines = (done.stdout + done.stderr).strip().splitlines()
    return {"code": done.returncode, "s": seconds, "rss": peak, "said": lines[-1] if lines else ""}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="edge of the streamed volume")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the store (default: a temporary one)"
    )
    args = parser.parse_args()
    huge = ["--shape", "100000", "100000", "100000"]
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        rows = [
            (
                "100000³ to a folder",
                run_fusion(["generate", args.model, *huge, "-o", f"{tmp}/huge.zarr"]),
                None,
            ),
            (
                "100000³ to memory://",
                run_fusion(["generate", args.model, *huge, "-o", "memory://huge.zarr"]),
                None,
            ),
        ]
        out = Path(tmp) / "streamed.zarr"
        shape = [str(args.size)] * 3
        streamed = run_fusion(["-q", "generate", args.model, "--shape", *shape, "-o", str(out)])
        rows.append(
            (
                f"{args.size}³ streamed to a folder",
                streamed,
                folder_bytes(out) if out.exists() else None,
            )
        )
    print(f"{args.model}, {os.cpu_count()} CPU threads\n")
    print("| run | exit | wall time | peak RSS | store | what it said |")
    print("|---|---:|---:|---:|---:|---|")
    for name, r, size in rows:
        stored = "" if size is None else f"{size / 2**30:.2f} GiB"
        said = r["said"] if len(r["said"]) < 160 else r["said"][:157] + "..."
        print(f"| {name} | {r['code']} | {r['s']:.1f} s | {r['rss']:.0f} MiB | {stored} | {said} |")


if __name__ == "__main__":
    main()
