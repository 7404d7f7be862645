"""The cost of pyramids: `fusion export ome-zarr` after a streamed generation (#22).

Usage (from the repository root)::

    uv run python benchmarks/bench_ome.py               # 1024³ (a few minutes on 2 cores)
    uv run python benchmarks/bench_ome.py --size 256    # quicker

In one run, each in a fresh process (``python -m fusion.cli``): ``fusion generate
model:slicegan-nmc --shape N N N -o gen.zarr`` (writing without pyramids), then ``fusion export
ome-zarr gen.zarr -o gen.ome.zarr`` (level 0 copied, the levels above computed block by block).
Prints a markdown table: wall time and peak RSS of each, the ratio (generate + export) /
generate, the store sizes and their ratio, and the levels written. Then checks the view as the
tests do: ``fusion validate --level data``, ome-zarr-models and ome-zarr-py's Reader.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "model:slicegan-nmc"
_CHILD = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
    "print(done.returncode, peak, (done.stdout + done.stderr).strip().splitlines()[-1:])\n"
)


def run_fusion(args: list[str]) -> dict:
    """One ``fusion`` command in its own process: exit code, seconds, peak RSS (MiB), last line."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, sys.executable, "-m", "fusion.cli", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    code, peak, said = out.stdout.split(" ", 2)
    return {"code": int(code), "s": seconds, "rss": float(peak), "said": said.strip()}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_view(view: Path) -> list[str]:
    """What the real OME clients say of every image group of the view."""
    import zarr
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models.v05.image import Image
    from ome_zarr_models.v05.image_label import ImageLabel

    group = zarr.open_group(view, mode="r")
    lines = []
    for path, image in group.attrs["fusion_ome_view"]["images"].items():
        model = ImageLabel if image["role"] == "label" else Image
        model.from_zarr(group[path])
        node = next(iter(Reader(parse_url(str(view / path)))()))
        scales = [t[0]["scale"] for t in node.metadata["coordinateTransformations"]]
        lines.append(f"{path}: valid OME-Zarr 0.5 {model.__name__}; ome-zarr-py reads "
                     f"{len(node.data)} levels, scales {scales} µm")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="edge of the generated volume")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        gen, view = Path(tmp) / "gen.zarr", Path(tmp) / "gen.ome.zarr"
        shape = [str(args.size)] * 3
        generated = run_fusion(["-q", "generate", args.model, "--shape", *shape, "-o", str(gen)])
        exported = run_fusion(["-q", "export", "ome-zarr", str(gen), "-o", str(view)])
        validated = run_fusion(["validate", str(view), "--level", "data"])
        sizes = folder_bytes(gen), folder_bytes(view)
        levels = json.loads((view / "zarr.json").read_text())["attributes"]["fusion_ome_view"]
        level0 = sum(folder_bytes(view / path / "0") for path in levels["images"])
        clients = check_view(view)
    ratio = (generated["s"] + exported["s"]) / generated["s"]
    print(f"{args.model}, {args.size}³\n")
    print("| step | exit | wall time | peak RSS | store |")
    print("|---|---:|---:|---:|---:|")
    print(f"| generate (no pyramids) | {generated['code']} | {generated['s']:.1f} s | "
          f"{generated['rss']:.0f} MiB | {sizes[0] / 2**20:.1f} MiB |")  # fmt: skip
    print(f"| export ome-zarr | {exported['code']} | {exported['s']:.1f} s | "
          f"{exported['rss']:.0f} MiB | {sizes[1] / 2**20:.1f} MiB |")  # fmt: skip
    print(f"| validate the view --level data | {validated['code']} | {validated['s']:.1f} s | "
          f"{validated['rss']:.0f} MiB | |")  # fmt: skip
    print(f"\nwriting with pyramids / without: {ratio:.3f}×; view / dataset size: "
          f"{sizes[1] / sizes[0]:.3f}×; levels above 0: {(sizes[1] - level0) / sizes[0]:.3f}× "
          "of the dataset")  # fmt: skip
    print("levels: " + ", ".join(f"{p} {i['levels']}" for p, i in levels["images"].items()))
    print(validated["said"])
    print("\n".join(clients))


if __name__ == "__main__":
    main()
