"""Export a super-resolution checkpoint's averaged generator to ONNX, with its test tensors.

Inputs ``lowres`` (B, 1, z, y, x: the particle indicator, 1 = NMC) and ``noise`` (B, nz, z, y,
x: standard-normal, drawn by the card's ``numpy-philox-blocks`` recipe); the generator's
`runtime_forward` form (1×1 convolutions and shuffles for the upsamplings); outputs ``labels``
(B, sf·(z − 8), …, uint8: the ArgMax of the logits, in the graph) and ``probabilities`` (B, 3,
…, float32). ONNX metadata ``fusion.argmax_of = labels=probabilities`` lets the runtime prune
the Softmax branch when only labels are asked for. The test tensors are a 12³-cell crop of the
training low-res volume (4 cells of output per axis) and the noise seed 0 draws for it.

Usage (training environment): ``python -m fusion.training.superres.export MODEL [--checkpoint
PATH] --out models/MODEL/0.1.0/MODEL.onnx``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch

from fusion.training import checkpoints
from fusion.training._paths import MODELS
from fusion.training.export import export_record

from .data import TEST_CELLS, TEST_SEED
from .model import CONTEXT, SuperResGenerator
from .train import FORMAT, load_generator, training_data

__all__ = ["OPSET", "TEST_CELLS", "TEST_SEED", "export", "main"]

OPSET = 17


class Exported(torch.nn.Module):
    def __init__(self, generator: SuperResGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, lowres: torch.Tensor, noise: torch.Tensor):
        logits = self.generator.runtime_forward(torch.cat([lowres, noise], 1))
        return torch.argmax(logits, 1).to(torch.uint8), torch.softmax(logits, 1)


def test_inputs(model: str, nz: int) -> tuple[np.ndarray, np.ndarray]:
    """(lowres, noise) of the test tensors: the first 12³ cells of the training low-res."""
    from fusion.registry import LatentSpec, draw_latent

    side = TEST_CELLS + 2 * CONTEXT
    lowres = training_data(model).lowres[:side, :side, :side].astype(np.float32)[None, None]
    spec = LatentSpec(tensor="noise", distribution="standard-normal", rng="numpy-philox-blocks")
    return lowres, draw_latent(spec, (1, nz, side, side, side), TEST_SEED)


def export(model: str, checkpoint: Path, out: Path) -> dict:
    import onnx
    import onnxruntime as ort

    G, meta = load_generator(checkpoint)
    wrapped = Exported(G).eval()
    lowres, noise = test_inputs(model, G.config.nz)
    buffer = io.BytesIO()
    space = {2: "z", 3: "y", 4: "x"}
    torch.onnx.export(
        wrapped, (torch.from_numpy(lowres), torch.from_numpy(noise)), buffer,
        input_names=["lowres", "noise"], output_names=["labels", "probabilities"],
        opset_version=OPSET, dynamo=False,
        dynamic_axes={"lowres": {0: "b", **space}, "noise": {0: "b", **space},
                      "labels": {0: "b", 1: "Z", 2: "Y", 3: "X"},
                      "probabilities": {0: "b", 2: "Z", 3: "Y", 4: "X"}},
    )  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "fusion.argmax_of", "labels=probabilities"
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    labels, probs = session.run(None, {"lowres": lowres, "noise": noise})
    with torch.no_grad():  # the training form, not the exported one
        logits = G(torch.cat([torch.from_numpy(lowres), torch.from_numpy(noise)], 1))
        t_labels, t_probs = torch.argmax(logits, 1).to(torch.uint8), torch.softmax(logits, 1)
    diff = float(np.abs(probs - t_probs.numpy()).max())
    tensors = out.with_name("test-tensors.npz")
    np.savez_compressed(tensors, lowres=lowres, noise=noise, labels=labels, probabilities=probs)
    meta = {**meta, "exported_weights": "moving average (E)"}
    record = export_record(out, tensors, checkpoint, meta, opset=OPSET,
                           ir_version=proto.ir_version, max_abs_difference=diff)  # fmt: skip
    record["labels_mismatch_vs_torch"] = int((labels != t_labels.numpy()).sum())
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument(
        "--checkpoint", type=Path, help="default: the newest in models/MODEL/checkpoints"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    path = args.checkpoint
    if path is None:
        found = checkpoints.latest_checkpoint(MODELS / args.model / "checkpoints", FORMAT)
        if found is None:
            raise SystemExit(f"no checkpoint in models/{args.model}/checkpoints")
        path = found[0]
    record = export(args.model, path, args.out)
    print(f"exported {path.name} (iteration {record['iteration']}) to {args.out}: max |Δp| "
          f"{record['max_abs_difference_torch_vs_onnxruntime']:.2g}, "
          f"{record['labels_mismatch_vs_torch']} label mismatches")  # fmt: skip


if __name__ == "__main__":
    main()
