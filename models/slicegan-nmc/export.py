"""Export a trained SliceGAN generator to ONNX, with the test tensors its model card names.

Usage (from the repository root, in the training environment)::

    .venv-train/bin/pip install onnx onnxruntime          # once, beside torch==2.13.0
    .venv-train/bin/python models/slicegan-nmc/export.py   # latest checkpoint -> slicegan-nmc.onnx

Writes, next to this file:

- ``slicegan-nmc.onnx``: input ``latent`` float32 (batch, nz, lz, ly, lx) with dynamic batch and
  spatial axes; output ``probabilities`` float32 (batch, phases, 32(lz−2), 32(ly−2), 32(lx−2)),
  softmax over phases. BatchNorm is folded to its running statistics (``eval()`` mode). Weights
  are embedded (one file, no ``.onnx.data``).
- ``test-tensors.npz``: ``latent`` drawn as the runtime draws it (below) at seed 0 with a 4³
  latent grid, and the ``probabilities`` onnxruntime computes from it (CPU provider).
- ``export.json``: the checkpoint, iteration, torch and onnx versions, sha256 of both files.

How the runtime draws a latent for ``--seed S`` (the card states it):
``numpy.random.default_rng(S).standard_normal((1, nz, lz, ly, lx), dtype=numpy.float32)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # models/: the shared _training
from _training import export_record
from model import Generator, SliceGANConfig
from train import latest_checkpoint, read_checkpoint

HERE = Path(__file__).resolve().parent
OPSET = 17
IR_VERSION = 9  # onnxruntime-gpu 1.31 reads up to IR 13; 9 keeps older runtimes working
MAX_BYTES = 15 * 2**20


def load_generator(checkpoint: Path | None) -> tuple[Generator, dict, Path]:
    """The generator of a checkpoint (the latest by default), in eval mode."""
    if checkpoint is None:
        found = latest_checkpoint(HERE / "checkpoints")
        if found is None:
            raise SystemExit(f"no checkpoint in {HERE / 'checkpoints'}: train first")
        path, tensors, meta = found
    else:
        path = checkpoint
        tensors, meta = read_checkpoint(path)
    config = SliceGANConfig(**meta["model_config"])
    generator = Generator(config)
    weights = {k.removeprefix("G."): v for k, v in tensors.items() if k.startswith("G.")}
    generator.load_state_dict(weights)
    return generator.eval(), meta, path


def draw_latent(nz: int, grid: tuple[int, int, int], seed: int) -> np.ndarray:
    """The runtime's latent for a seed: standard normal, float32, shape (1, nz, *grid)."""
    return np.random.default_rng(seed).standard_normal((1, nz, *grid), dtype=np.float32)


def export(generator: Generator, nz: int, out: Path) -> None:
    example = torch.from_numpy(draw_latent(nz, (4, 4, 4), 0))
    torch.onnx.export(
        generator,
        (example,),
        out,
        input_names=["latent"],
        output_names=["probabilities"],
        dynamic_axes={
            "latent": {0: "batch", 2: "lz", 3: "ly", 4: "lx"},
            "probabilities": {0: "batch", 2: "z", 3: "y", 4: "x"},
        },
        opset_version=OPSET,
        dynamo=False,
    )
    model = onnx.load(out)
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, out)


def verify(generator: Generator, nz: int, path: Path) -> float:
    """Largest |torch − onnxruntime| over a cubic and a non-cubic latent."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for grid in [(4, 4, 4), (4, 6, 8)]:
        latent = draw_latent(nz, grid, 1)
        with torch.no_grad():
            expected = generator(torch.from_numpy(latent)).numpy()
        got = session.run(None, {"latent": latent})[0]
        assert got.shape == (1, generator.config.n_phases, *(32 * (g - 2) for g in grid))
        worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the latest")
    parser.add_argument("--out", type=Path, default=HERE / "slicegan-nmc.onnx")
    args = parser.parse_args()

    generator, meta, source = load_generator(args.checkpoint)
    nz = generator.config.nz
    export(generator, nz, args.out)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size / 2**20:.1f} MiB, over the 15 MiB limit")
    worst = verify(generator, nz, args.out)

    session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    latent = draw_latent(nz, (4, 4, 4), 0)
    probabilities = session.run(None, {"latent": latent})[0]
    tensors = args.out.with_name("test-tensors.npz")
    np.savez_compressed(tensors, latent=latent, probabilities=probabilities)
    record = export_record(
        args.out,
        tensors,
        source,
        meta,
        opset=OPSET,
        ir_version=IR_VERSION,
        max_abs_difference=worst,
    )
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
