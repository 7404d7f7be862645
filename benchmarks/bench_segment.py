"""Segmentation speed and memory: `fusion segment` against PyTorch eager, same weights, one run.

Usage (from the repository root, after models/unet-nmc/export.py; the training venv
``.venv-train`` with torch==2.13.0 runs the PyTorch side)::

    uv run python benchmarks/bench_segment.py --sizes 1024 2048 --repeat 3 --memory-size 4096

- **Speed.** An SEM-like rendering (fusion.training.unet.render, the SEM labels tiled to N x N) is
  segmented by ours — the card's normalisation plus `segment_image` (512-px tiles, 64-px
  overlap, blending) on onnxruntime's CPU provider — and by PyTorch eager on the checkpoint the
  ONNX file was exported from, in one pass over the whole image (PyTorch gets the image already
  normalised: its time is the network alone). The two alternate, ours / PyTorch / ours, in one
  run; medians are compared. Both use every core. The share of pixels on which the two agree
  is reported too (they differ only where blended tiles and one pass disagree).
- **Memory.** Peak resident memory (VmHWM) of `fusion segment` on an M x M uint16 dataset, in a
  fresh process, against PyTorch eager's one pass on the same image in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from fusion.models import open_session
from fusion.models._preprocess import normaliser
from fusion.models._segment import segment_image
from fusion.registry import ModelCard, hash_file
from fusion.schema import write
from fusion.schema.testing import grey_image_tree
from fusion.training.unet.render import SEM, load_labels, render_sem, scale_range

REPO = Path(__file__).resolve().parents[1]
UNET = REPO / "models" / "unet-nmc"
TORCH_PYTHON = REPO / ".venv-train" / "bin" / "python"

MICROGRAPHS = REPO.parent / "shared" / "data" / "micrographs"

MEMORY_CHILD = """
import sys
from fusion.cli import main
code = main(["--quiet", "segment", "model:unet-nmc", sys.argv[1], "-o", sys.argv[2],
             "--device", "cpu", "--registry", sys.argv[3]])
peak = next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(code, peak)
"""


def sem_like(size: int) -> np.ndarray:
    """A size x size float32 SEM-like image (default rendering, seed 0) of the tiled SEM labels."""
    labels = load_labels(MICROGRAPHS / SEM)
    reps = (-(-size // labels.shape[0]), -(-size // labels.shape[1]))
    return render_sem(np.tile(labels, reps)[:size, :size].copy(), seed=0)


def temporary_registry(folder: Path) -> Path:
    """registry.yaml naming the exported ONNX file with card.yaml (metrics not needed here)."""

    def digest(path: Path) -> dict:
        return {"url": path.as_uri(), "sha256": hash_file(path), "size": path.stat().st_size}

    card = yaml.safe_load((UNET / "card.yaml").read_text())
    card["test_tensors"] = digest(UNET / "test-tensors.npz")
    entry = {**digest(UNET / "unet-nmc.onnx"), "card": card}
    doc = {"registry": "fusion-registry/1", "models": {"unet-nmc": {"versions": {"0.0.0": entry}}}}
    path = folder / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def torch_eager(checkpoint: Path, image_path: Path, repeat: int, threads: int) -> dict:
    """Run the PyTorch side in the training venv; its labels land beside the image."""
    labels = image_path.with_suffix(".torch-labels.npy")
    child = [str(TORCH_PYTHON), str(REPO / "benchmarks" / "unet_torch_child.py"),
             str(checkpoint), str(image_path), str(repeat), str(threads), str(labels)]  # fmt: skip
    out = subprocess.run(child, capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "labels": np.load(labels)}


def speed(args, checkpoint: Path, folder: Path) -> list[str]:
    card = yaml.safe_load((UNET / "card.yaml").read_text())
    steps = (
        ModelCard.model_validate(
            {**card, "test_tensors": {"url": "x.npz", "sha256": "0" * 64, "size": 1}}
        )
        .preprocessing[0]
        .steps
    )
    session = open_session(UNET / "unet-nmc.onnx", "cpu")
    rows = []
    for size in args.sizes:
        raw = sem_like(size)
        image_path = folder / f"image{size}.npy"
        np.save(image_path, scale_range(raw))

        def ours(raw=raw) -> tuple[float, np.ndarray]:
            start = time.perf_counter()
            prepared = normaliser(steps, lambda raw=raw: [raw])(raw)
            labels = segment_image(
                prepared, lambda w: session.session.run(None, {"image": w})[0], tile=512
            )
            return time.perf_counter() - start, labels

        ours()  # warm-up
        first = [ours() for _ in range(args.repeat)]
        reference = torch_eager(checkpoint, image_path, args.repeat, args.threads)
        second = [ours() for _ in range(args.repeat)]
        t_ours = float(np.median([t for t, _ in first + second]))
        t_torch = float(np.median(reference["seconds"]))
        agree = float(np.mean(first[0][1] == reference["labels"]))
        mp = size * size / 1e6
        rows.append(
            f"| {size}² | {mp / t_ours:.3f} | {mp / t_torch:.3f} | **{t_torch / t_ours:.2f}** "
            f"| {agree:.5f} |"
        )
        print(rows[-1], flush=True)
    return rows


def memory(args, checkpoint: Path, folder: Path) -> list[str]:
    size = args.memory_size
    raw = sem_like(size)
    grey = np.round(raw * 60000).astype(np.uint16)[np.newaxis]  # a 16-bit SEM image
    dataset = folder / "sem.zarr"
    write(grey_image_tree(grey, 0.01, title="benchmark SEM image"), dataset)
    registry = temporary_registry(folder)
    env = {**os.environ, "FUSION_CACHE": str(folder / "cache")}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(dataset), str(folder / "seg.zarr"), str(registry)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - start
    code, peak = (int(v) for v in out.stdout.strip().splitlines()[-1].split())
    if code != 0:
        raise SystemExit(f"fusion segment failed (exit {code}): {out.stderr.strip()}")
    image_path = folder / "memory.npy"
    np.save(image_path, scale_range(raw))
    reference = torch_eager(checkpoint, image_path, 1, args.threads)
    return [
        f"| `fusion segment` (tiles 512, overlap 64), {size}² uint16 dataset → Zarr | "
        f"{peak:,} MiB | {wall:.1f} s (whole command) |",
        f"| PyTorch eager, one pass over the {size}² image | {reference['peak_rss_mib']:,} MiB | "
        f"{reference['seconds'][0]:.1f} s (network only) |",
        f"| the image itself: {size}² uint16 / float32 | {size * size * 2 / 2**20:.0f} / "
        f"{size * size * 4 / 2**20:.0f} MiB | |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--memory-size", type=int, default=4096)
    parser.add_argument("--checkpoint", type=Path, default=None)
    args = parser.parse_args()
    record = json.loads((UNET / "export.json").read_text())
    checkpoint = args.checkpoint or UNET / "checkpoints" / record["checkpoint"]
    if not checkpoint.is_file():
        raise SystemExit(
            f"{checkpoint} is gone (training keeps its newest checkpoints only): export again, "
            "or pass --checkpoint with the file unet-nmc.onnx was exported from"
        )
    print(f"weights: {checkpoint.name} (iteration {record['iteration']}), {args.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("| image | ours MP/s | PyTorch eager MP/s | ours / PyTorch | labels agree |")
        print("|---|---:|---:|---:|---:|")
        speed(args, checkpoint, folder)
        print("\n| run | peak RSS | time |\n|---|---:|---|")
        for row in memory(args, checkpoint, folder):
            print(row)


if __name__ == "__main__":
    main()
