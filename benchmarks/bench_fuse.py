"""The reference recipe, end to end: the time of each step on a first run, and of a second run
that finds every step in the work folder (what the step keys save), in one process.

Usage (from the repository root, ../shared beside it)::

    uv run python benchmarks/bench_fuse.py --edge 128

Prints a table; the numbers in docs/benchmarks.md and docs/fusion.md come from this script. The
second run still digests the input files, resolves the models in the registry and writes the
output dataset, so its time is that floor.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from fusion.fuse import fuse

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "docs" / "examples" / "nmc-fusion.yaml"


def recipe_copy(folder: Path, edge: int) -> Path:
    recipe = yaml.safe_load(RECIPE.read_text())
    for spec in recipe["inputs"].values():
        spec["url"] = str((RECIPE.parent / spec["url"]).resolve())
    next(s for s in recipe["steps"] if s["id"] == "particle")["shape"] = [edge] * 3
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=128, help="particle volume edge (voxels)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recipe = recipe_copy(folder, args.edge)
        runs = []
        for name in ("first", "second"):
            start = time.perf_counter()
            result = fuse(recipe, folder / f"{name}.zarr", work=folder / "work", device="cpu")
            runs.append((time.perf_counter() - start, result))
        size = sum(p.stat().st_size for p in (folder / "first.zarr").rglob("*") if p.is_file())
    (first, a), (second, b) = runs
    print(f"reference recipe, particle {args.edge}³, CPU\n")
    print("| step | op | first run (s) | second run |")
    print("|---|---|---:|---|")
    for x, y in zip(a.steps, b.steps, strict=True):
        print(f"| `{x.id}` | {x.op} | {x.seconds:.1f} | {'reused' if not y.ran else 'ran'} |")
    print(f"\ntotal: first {first:.1f} s, second {second:.1f} s ({first / second:.1f}× less); "
          f"output {size / 2**20:.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
