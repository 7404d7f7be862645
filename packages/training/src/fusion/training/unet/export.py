"""Export a trained U-Net to ONNX, with the test tensors its model card names.

Usage (from the repository root, in the training environment)::

    .venv-train/bin/python models/unet-nmc/export.py                  # latest checkpoint -> unet-nmc.onnx
    .venv-train/bin/python models/unet-nmc/export.py --out /tmp/x.onnx --checkpoint path.safetensors

Writes, next to `--out`:

- ``unet-nmc.onnx``: input ``image`` float32 (batch, 1, H, W), grey values scaled by the image's
  0.5 and 99.5 percentiles to [0, 1] and clipped (`render.scale_range`, the card's preprocessing), H and W
  dynamic multiples of 16; output ``logits`` float32 (batch, 3, H, W), classes 0 pore, 1 NMC,
  2 carbon-binder (argmax = labels). BatchNorm uses its running statistics (eval mode). Weights are
  embedded (one file). Inputs of other sizes: reflect-pad bottom/right to a multiple of 16, crop the output.
- ``test-tensors.npz``: ``image`` (1, 1, 128, 160), the held-out SEM columns rendered with the
  default `RenderParams` at seed 0 and scaled (top-left crop), and the ``logits`` onnxruntime
  computes (CPU).
- ``export.json``: checkpoint, iteration, versions, max |torch - onnxruntime|, sha256 and sizes.
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
from fusion.training.unet.model import UNet, UNetConfig
from fusion.training.unet.render import (
    SEM,
    SEM_HELDOUT_COLS,
    Region,
    region_labels,
    render_sem,
    scale_range,
)
from fusion.training.unet.train import TrainConfig, latest_checkpoint, read_checkpoint

HERE = MODELS / "unet-nmc"
OPSET = 17
IR_VERSION = 9
MAX_BYTES = 15 * 2**20


def load_model(checkpoint: Path | None) -> tuple[UNet, dict, Path]:
    if checkpoint is None:
        found = latest_checkpoint(HERE / "checkpoints")
        if found is None:
            raise SystemExit(f"no checkpoint in {HERE / 'checkpoints'}: train first")
        path, tensors, meta = found
    else:
        path = checkpoint
        tensors, meta = read_checkpoint(path)
    model = UNet(UNetConfig(**meta["model_config"]))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    return model.eval(), meta, path


def test_image() -> np.ndarray:
    """(1, 1, 128, 160) float32: default rendering (seed 0) of the held-out SEM columns, scaled
    as the card's preprocessing says (whole image), then its top-left corner."""
    labels = region_labels(TrainConfig().micrographs, Region(SEM, cols=SEM_HELDOUT_COLS))
    return scale_range(render_sem(labels, seed=0))[None, None, :128, :160].copy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the latest")
    parser.add_argument("--out", type=Path, default=HERE / "unet-nmc.onnx")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, meta, source = load_model(args.checkpoint)
    image = test_image()
    torch.onnx.export(
        model,
        (torch.from_numpy(image),),
        args.out,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={
            "image": {0: "batch", 2: "H", 3: "W"},
            "logits": {0: "batch", 2: "H", 3: "W"},
        },
        opset_version=OPSET,
        dynamo=False,
    )
    proto = onnx.load(args.out)
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    onnx.save(proto, args.out)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size / 2**20:.1f} MiB, over the 15 MiB limit")

    session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in (
        image,
        np.ascontiguousarray(np.pad(image, ((0, 0), (0, 0), (0, 32), (0, 0)), "reflect")),
    ):
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"image": x})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    logits = session.run(None, {"image": image})[0]
    tensors = args.out.with_name("test-tensors.npz")
    np.savez_compressed(tensors, image=image, logits=logits)
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
