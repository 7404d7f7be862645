"""Generation speed and memory: tiled (lazy, streamed into Zarr) against one pass, same seed.

Usage (from the repository root; needs an exported SliceGAN ONNX file)::

    uv run python benchmarks/bench_generate.py      # the registered slicegan-nmc (registry.yaml's latest)
    uv run python benchmarks/bench_generate.py --onnx models/slicegan-nmc/export/slicegan-nmc.onnx

Registers the file in a temporary registry with a SliceGAN card (the outputs the file has,
see ``bench_generate_speed.card``), then, each in a fresh subprocess (so peak memory is its
own): `fusion generate` of an N³ volume tiled (the default tiles, 192³ voxels) and in one
pass, written to a temporary Zarr store. Prints a markdown table of wall time, voxels per
second and peak resident memory (VmHWM). For speed against PyTorch and the sgemm rate, see
``bench_generate_speed.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bench_generate_speed import card

from fusion.models._genonnx import output_names

CHILD = """
import resource, sys
from fusion.models import generate
from fusion.schema import write
n, tile, out, registry = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry,
                tile=None if tile == "none" else tile if tile == "auto" else int(tile))
write(tree, out)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        print(int(line.split()[1]) // 1024)
"""


def registered_onnx(name: str = "slicegan-nmc") -> Path:
    """The local file of ``name``'s latest version in the repository's registry.yaml."""
    registry = Path(__file__).resolve().parents[1] / "registry.yaml"
    model = yaml.safe_load(registry.read_text(encoding="utf-8"))["models"][name]
    return registry.parent / model["versions"][model["latest"]]["url"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, default=registered_onnx())
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args()
    npz = args.onnx.with_name("test-tensors.npz")
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "registry.yaml"
        entry = {
            "url": str(args.onnx.resolve()).lstrip("/"),
            "sha256": hashlib.sha256(args.onnx.read_bytes()).hexdigest(),
            "size": args.onnx.stat().st_size,
            "card": card(output_names(args.onnx.read_bytes()), npz),
        }
        entry["url"] = "file:///" + entry["url"]
        doc = {
            "registry": "fusion-registry/1",
            "models": {"bench": {"versions": {"0.1.0": entry}}},
            "datasets": {},
        }
        registry.write_text(yaml.safe_dump(doc))
        print("| volume | mode | wall (s) | Mvoxel/s | peak RSS (MiB) |")
        print("|---|---|---:|---:|---:|")
        for n in args.sizes:
            for tile in ("auto", "none"):
                out = Path(tmp) / f"g{n}-{tile}.zarr"
                start = time.perf_counter()
                run = subprocess.run(
                    [sys.executable, "-c", CHILD, str(n), tile, str(out), str(registry)],
                    capture_output=True, text=True, check=True,
                    env={"FUSION_CACHE": str(Path(tmp) / "cache"), "PATH": "/usr/bin:/bin"},
                )  # fmt: skip
                wall = time.perf_counter() - start
                peak = run.stdout.strip().splitlines()[-1]
                mode = "tiled (default tiles)" if tile != "none" else "one pass"
                print(f"| {n}³ | {mode} | {wall:.1f} | {n**3 / wall / 1e6:.2f} | {peak} |")


if __name__ == "__main__":
    main()
