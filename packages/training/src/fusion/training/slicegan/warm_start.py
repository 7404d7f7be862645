"""A trainable generator from a released ONNX export: training can continue from a registered
version when its checkpoints are gone (a fresh machine keeps the repository, not ``checkpoints/``).

The export holds the averaged generator with BatchNorm folded into its weights (`runtime_graph`,
`export.py`): per layer a ConvTranspose weight ``W'`` and bias ``b'`` with
``BN_eval(conv(x)) = conv'(x) + b'``. Read back (`runtime_graph.runtime_layers`), the
convolutions take ``W'`` and each BatchNorm is set so that its *eval* output with standing
statistics is exactly ``conv'(x) + b'`` again: ``γ = √(σ² + ε)`` and ``β = μ + b'``, where μ and
σ² are the standing statistics of ``conv'(x)`` (`model.standing_statistics`, the seeded batches
export.py uses), computed layer by layer since each layer's statistics depend on the layers
before it. Re-exporting the result therefore reproduces the release up to float rounding (a
test checks it), and in training mode each BatchNorm normalises by batch statistics just as the
original generator's did: ``γ·norm(W'x) + β = γ_orig·norm(Wx) + β_orig`` up to the ε term,
because ``W' = a·W`` per channel with ``|a|·σ_stand(Wx) ≈ |γ_orig|``.

What a release does not hold is lost: the trained (not averaged) weights, the critic and both
optimisers' states. train.py starts the trained and the averaged generator from these weights and
trains a new critic alone first (``--critic-warmup``), so that the generator's first steps
follow a critic that has learnt something.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch

from fusion.training.slicegan.model import Generator, SliceGANConfig, standing_statistics
from fusion.training.slicegan.runtime_graph import runtime_layers


def read_export_record(onnx_path: Path) -> dict:
    """The ``export.json`` written beside an export by export.py (iteration, time, train_config)."""
    path = Path(onnx_path).with_name("export.json")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: a warm start needs the export.json that export.py writes beside "
            f"{Path(onnx_path).name} (the training settings and iteration it came from)"
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    missing = {"iteration", "train_config"} - set(record)
    if missing:
        raise ValueError(f"{path}: no {', '.join(sorted(missing))}; not written by export.py")
    return record


@torch.no_grad()
def generator_from_export(onnx_path: Path, config: SliceGANConfig) -> Generator:
    """A generator in training mode whose standing-statistics export equals ``onnx_path``'s."""
    try:
        model = onnx.load(str(onnx_path))
    except Exception as error:  # onnx raises DecodeError, OSError, ... for a bad file
        raise ValueError(f"{onnx_path}: not a readable ONNX model ({error})") from error
    try:
        layers = runtime_layers(model, config.gen_padding)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{onnx_path}: {error}") from error
    generator = Generator(config)
    for n, (conv, layer) in enumerate(zip(generator.convs, layers, strict=True)):
        if tuple(conv.weight.shape) != layer.weight.shape:
            raise ValueError(
                f"{onnx_path}: layer {n} has weights {layer.weight.shape}, the generator of "
                f"widths {config.gen_widths} expects {tuple(conv.weight.shape)}"
            )
        conv.weight.copy_(torch.from_numpy(layer.weight))
    for n, (norm, layer) in enumerate(zip(generator.norms, layers, strict=False)):
        measured = standing_statistics(generator).norms[n]  # layers before n are final
        norm.weight.copy_(torch.sqrt(measured.running_var + norm.eps))
        norm.bias.copy_(measured.running_mean + torch.from_numpy(np.asarray(layer.bias)))
    standing_statistics(generator)  # running statistics as an export would set them
    return generator.train()
