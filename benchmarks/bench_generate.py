"""Generation speed and memory: tiled (lazy, streamed into Zarr) against one pass, same seed.

Usage (from the repository root; needs an exported SliceGAN ONNX file)::

    uv run python benchmarks/bench_generate.py --onnx models/slicegan-nmc/slicegan-nmc.onnx

Registers the file in a temporary registry with a SliceGAN card, then, each in a fresh
subprocess (so peak memory is its own): `fusion generate` of an N³ volume tiled (6³ latent
tiles, 128³ voxels each) and in one pass, written to a temporary Zarr store. Prints a markdown
table of wall time, voxels per second and peak resident memory (VmHWM).
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

CHILD = """
import resource, sys
from fusion.models import generate
from fusion.schema import write
n, tile, out, registry = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry,
                tile=None if tile == "none" else int(tile))
write(tree, out)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        print(int(line.split()[1]) // 1024)
"""


def card(npz: Path, sha: str) -> dict:
    space_in = [{"name": n, "type": "space", "size": {"min": 3, "step": 1}} for n in "zyx"]
    space_out = [
        {
            "name": n,
            "type": "space",
            "size": {"tensor": "latent", "axis": n, "scale": 32, "offset": -64},
        }
        for n in "zyx"
    ]
    return {
        "description": "SliceGAN NMC generator (benchmark registration)",
        "task": "generate-3d",
        "inputs": [{"name": "latent", "description": "latent", "dtype": "float32",
                    "axes": [{"name": "b", "type": "batch"}, {"name": "c", "type": "channel", "size": 16}, *space_in]}],
        "outputs": [{"name": "probabilities", "description": "phase probabilities", "dtype": "float32",
                     "axes": [{"name": "b", "type": "batch"}, {"name": "c", "type": "channel", "size": 3}, *space_out]}],
        "latent": {"tensor": "latent", "distribution": "standard-normal"},
        "channels": [{"tensor": "probabilities", "name": "phase", "transform": "argmax", "dtype": "uint8",
                      "long_name": "phase label", "units": "1", "modality": "SEM",
                      "flag_values": [0, 1, 2], "flag_meanings": "pore NMC CBD", "voxel_size_um": 1.0}],
        "training_data": [{"uri": "file://nmc_sem_2d_3phase_628x758.tif", "description": "NMC SEM"}],
        "license": "MIT",
        "authors": [{"name": "bench"}],
        "citation": [{"text": "Kench & Cooper 2021"}],
        "test_tensors": {"url": npz.name, "sha256": sha, "size": npz.stat().st_size, "seed": 0},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, default=Path("models/slicegan-nmc/slicegan-nmc.onnx"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args()
    npz = args.onnx.with_name("test-tensors.npz")
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "registry.yaml"
        entry = {
            "url": str(args.onnx.resolve()).lstrip("/"),
            "sha256": hashlib.sha256(args.onnx.read_bytes()).hexdigest(),
            "size": args.onnx.stat().st_size,
            "card": card(npz, hashlib.sha256(npz.read_bytes()).hexdigest()),
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
            for tile in ("6", "none"):
                out = Path(tmp) / f"g{n}-{tile}.zarr"
                start = time.perf_counter()
                run = subprocess.run(
                    [sys.executable, "-c", CHILD, str(n), tile, str(out), str(registry)],
                    capture_output=True, text=True, check=True,
                    env={"FUSION_CACHE": str(Path(tmp) / "cache"), "PATH": "/usr/bin:/bin"},
                )  # fmt: skip
                wall = time.perf_counter() - start
                peak = run.stdout.strip().splitlines()[-1]
                mode = "tiled (6³ latent)" if tile != "none" else "one pass"
                print(f"| {n}³ | {mode} | {wall:.1f} | {n**3 / wall / 1e6:.2f} | {peak} |")


if __name__ == "__main__":
    main()
