"""Export a trained SliceGAN generator to ONNX, shaped for onnxruntime, with its test tensors.

Usage (from the repository root, in the training environment)::

    .venv-train/bin/pip install onnx onnxruntime          # once, beside torch==2.13.0
    .venv-train/bin/python models/slicegan-nmc/export.py   # latest checkpoint -> export/slicegan-nmc.onnx
    .venv-train/bin/python models/slicegan-nmc/export.py --random-init --out /tmp/sg.onnx

Writes, in ``export/`` beside this file (git-ignored), or beside ``--out`` (a release:
``<version>/slicegan-nmc.onnx``):

- ``slicegan-nmc.onnx``: the generator as `runtime_graph` builds it (BatchNorm folded, each
  ConvTranspose3d as a sub-pixel Conv3d + depth-to-space, no ConvTranspose, no Softmax node).
  Input ``latent`` float32 (batch, nz, lz, ly, lx), dynamic batch and spatial axes. Outputs,
  in this order: ``probabilities`` float32 (batch, phases, 32(lz−2), 32(ly−2), 32(lx−2)), the
  softmax over phases (output 0, as in the plain export), and ``labels`` uint8 (batch,
  32(lz−2), …), the argmax over phases. The model
  metadata ``fusion.argmax_of = labels=probabilities`` tells the runtime that it may fetch
  ``labels`` alone (and prune the softmax) when the card asks for the argmax of
  ``probabilities``. Weights are embedded (one file, no ``.onnx.data``).
- ``test-tensors.npz``: ``latent`` drawn as the runtime draws it (below) at seed 0 with a 4³
  latent grid, and the ``labels`` and ``probabilities`` onnxruntime computes from it (CPU).
- ``export.json``: the checkpoint, iteration, torch and onnx versions, sha256 of both files.

Before writing the test tensors the export is checked against the torch model in ``eval()``
mode on a cubic and a non-cubic latent: labels identical to the argmax of torch's
probabilities (up to voxels where torch's top two phases are within 1e-4), probabilities within
1e-4.

How the runtime draws a latent for ``--seed S`` (the card states it):
``numpy.random.default_rng(S).standard_normal((1, nz, lz, ly, lx), dtype=numpy.float32)``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from fusion.training._paths import MODELS
from fusion.training.export import export_record
from fusion.training.slicegan.checkpoints import latest_checkpoint, read_checkpoint
from fusion.training.slicegan.model import (
    STANDING_BATCHES,
    STANDING_SEED,
    Generator,
    SliceGANConfig,
    freeze_batchnorm,
    standing_statistics,
)
from fusion.training.slicegan.runtime_graph import (
    IR_VERSION,
    OPSET,
    Layer,
    build_runtime_model,
    fold_batchnorm,
)

HERE = MODELS / "slicegan-nmc"
MAX_BYTES = 15 * 2**20
# float32 torch and onnxruntime sum the same products in different orders through five layers:
# trained weights have given differences of 0.8e-5 to 1.3e-5 in the probabilities, so 1e-5 refused
# exact exports; 1e-4 still catches any wrong weight or shuffle (those differ by 1e-2 or more)
PROBABILITY_ATOL = 1e-4
VERIFY_GRIDS = [(4, 4, 4), (4, 6, 8), (3, 5, 4)]


def load_generator(
    checkpoint: Path | None, raw: bool = False, stored_statistics: bool = False
) -> tuple[Generator, dict, Path]:
    """The generator of a checkpoint (the latest by default), in eval mode: its moving average
    ("E." tensors) where the checkpoint has one and ``raw`` is false, else the trained weights.

    Its BatchNorm statistics are recomputed for those weights (`model.standing_statistics`)
    unless ``stored_statistics``: the checkpoint's running statistics of an averaged generator
    were gathered under other weights."""
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
    prefix = "E." if not raw and any(k.startswith("E.") for k in tensors) else "G."
    weights = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    generator.load_state_dict(weights)
    meta = meta | {"exported_weights": "moving average" if prefix == "E." else "trained"}
    if meta.get("train_config", {}).get("frozen_batchnorm"):
        meta["batchnorm_statistics"] = (
            "frozen in training (model.freeze_batchnorm): the trained function is exported as is"
        )
        return freeze_batchnorm(generator).eval(), meta, path
    if stored_statistics:
        meta["batchnorm_statistics"] = "stored in the checkpoint"
        return generator.eval(), meta, path
    meta["batchnorm_statistics"] = (
        f"standing: averaged over {STANDING_BATCHES} training-size batches of 2 latents "
        f"(torch seed {STANDING_SEED})"
    )
    return standing_statistics(generator), meta, path


def random_generator(seed: int = 0) -> Generator:
    """A randomly initialised generator with non-trivial BatchNorm statistics (for benchmarks
    and checks of the export itself: speed and exactness do not depend on trained values)."""
    torch.manual_seed(seed)
    generator = Generator(SliceGANConfig())
    with torch.no_grad():
        for norm in generator.norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0.0, 0.1)
            norm.running_mean.normal_(0.0, 0.1)
            norm.running_var.uniform_(0.5, 2.0)
    return generator.eval()


def generator_layers(generator: Generator) -> list[Layer]:
    """The generator's layers as numpy arrays, BatchNorm (running statistics) folded in."""
    layers = []
    convs, norms = list(generator.convs), list(generator.norms)
    for n, conv in enumerate(convs):
        weight = conv.weight.detach().cpu().numpy()  # (C_in, C_out, 4, 4, 4)
        bias = None
        if n < len(norms):
            norm = norms[n]
            weight, bias = fold_batchnorm(
                weight,
                norm.weight.detach().cpu().numpy(),
                norm.bias.detach().cpu().numpy(),
                norm.running_mean.cpu().numpy(),
                norm.running_var.cpu().numpy(),
                norm.eps,
            )
        layers.append(Layer(weight, bias, int(conv.padding[0]), relu=n < len(norms)))
    return layers


def draw_latent(nz: int, grid: tuple[int, int, int], seed: int) -> np.ndarray:
    """The runtime's latent for a seed: standard normal, float32, shape (1, nz, *grid)."""
    return np.random.default_rng(seed).standard_normal((1, nz, *grid), dtype=np.float32)


def export(generator: Generator, out: Path) -> None:
    """Write the shaped two-output graph of ``generator`` to ``out``."""
    model = build_runtime_model(generator_layers(generator.eval()))
    assert model.ir_version == IR_VERSION and model.opset_import[0].version == OPSET
    onnx.save(model, out)


def compare(
    generator: Generator, session: ort.InferenceSession, grids=VERIFY_GRIDS, seed: int = 1
) -> dict[str, float]:
    """Largest |Δprobabilities| and the number of label mismatches, torch vs onnxruntime, over
    ``grids``; a mismatch where torch's top two probabilities differ by less than 1e-4 is a
    rounding tie and is counted apart."""
    worst, mismatched, ties = 0.0, 0, 0
    nz, phases = generator.config.nz, generator.config.n_phases
    for grid in grids:
        latent = draw_latent(nz, grid, seed)
        with torch.no_grad():
            expected = generator(torch.from_numpy(latent)).numpy()
        labels, probabilities = session.run(["labels", "probabilities"], {"latent": latent})
        shape = tuple(32 * (g - 2) for g in grid)
        assert probabilities.shape == (1, phases, *shape) and labels.shape == (1, *shape)
        worst = max(worst, float(np.max(np.abs(probabilities - expected))))
        wrong = labels != expected.argmax(1)
        top2 = np.sort(expected, axis=1)[:, -2:]
        tie = (top2[:, 1] - top2[:, 0]) < PROBABILITY_ATOL
        mismatched += int(np.sum(wrong & ~tie))
        ties += int(np.sum(wrong & tie))
    return {"max_abs_difference": worst, "label_mismatches": mismatched, "label_ties": ties}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the latest")
    parser.add_argument(
        "--random-init", action="store_true", help="export a random generator (no checkpoint)"
    )
    parser.add_argument(
        "--raw", action="store_true", help="the trained weights, not their moving average"
    )
    parser.add_argument(
        "--stored-statistics",
        action="store_true",
        help="keep the checkpoint's BatchNorm running statistics (default: recompute them)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "export" / "slicegan-nmc.onnx",
        help="default: export/slicegan-nmc.onnx (git-ignored); a release goes to <version>/",
    )
    args = parser.parse_args(argv)

    if args.random_init:
        generator, meta, source = random_generator(), {}, Path("random-init")
    else:
        generator, meta, source = load_generator(
            args.checkpoint, raw=args.raw, stored_statistics=args.stored_statistics
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(generator, args.out)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size / 2**20:.1f} MiB, over the 15 MiB limit")
    session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    found = compare(generator, session)
    if found["max_abs_difference"] > PROBABILITY_ATOL or found["label_mismatches"]:
        raise SystemExit(f"{args.out} does not reproduce the torch generator: {found}")

    latent = draw_latent(generator.config.nz, (4, 4, 4), 0)
    labels, probabilities = session.run(["labels", "probabilities"], {"latent": latent})
    tensors = args.out.with_name("test-tensors.npz")
    np.savez_compressed(tensors, latent=latent, labels=labels, probabilities=probabilities)
    record = export_record(
        args.out,
        tensors,
        source,
        meta,
        opset=OPSET,
        ir_version=IR_VERSION,
        max_abs_difference=found["max_abs_difference"],
    )
    record["label_mismatches_torch_vs_onnxruntime"] = found
    args.out.with_name("export.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
