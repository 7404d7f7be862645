"""How far each axis's two-point correlation is from the three axes' mean, for checkpoints of a run.

Usage (training environment: torch, safetensors, onnx, onnxruntime; export.py loads)::

    .venv-train/bin/python models/slicegan-nmc/axis_probe.py models/slicegan-nmc/checkpoints/ckpt_0005736.safetensors \
        models/slicegan-nmc/checkpoints/ckpt_0005973.safetensors

Each checkpoint's averaged generator, as `export.py` would export it (`export.load_generator`:
frozen BatchNorm as trained, else standing statistics), generates the same ``--volumes``
latents of ``--latent``³ (default six of 8³, i.e. 192³ volumes), and each axis's S2 (r = 1..31,
`fusion.models.metrics`) is averaged over them. Printed per checkpoint:

- each axis's S2 minus the three axes' mean, its RMS (axis × phase), and NMC's offset along y at
  r = 16 with its standard error over the volumes;
- each axis's NMC interface density against the one the critic's real crops show (``--image``
  at train.py's default stride, transposed crops: `expected_interface_density`), the number
  train.py's eval logs as "surface rel. error", pooled over the volumes;
- each axis's NMC S2 RMS against the image's (noisy: the volumes' NMC fractions differ);
- the volumes' phase fractions (noisy as well, but paired: the same latents every time).

The latents are fixed, so two checkpoints are compared on the same volumes: a paired measure of
a run's drift, for between `evaluate.py` runs (1 min, against 5 for 32 seeds of 256³).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from fusion.training.slicegan.config import TrainConfig
from fusion.training.slicegan.export import load_generator
from fusion.training.slicegan.measures import interface_errors
from fusion.training.slicegan.training_data import (
    expected_interface_density,
    expected_two_point,
    label_two_point,
    training_images,
)

NMC, Y, SHIFTS = 1, 1, 31


@torch.no_grad()
def probe(
    path: Path, volumes: int, latent: int, seed: int, interfaces: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(volumes, 3, P, 31) S2 curves along each axis of the checkpoint's volumes on the fixed
    latents, (3, P) their interface densities' relative errors against ``interfaces`` and (P,)
    their phase fractions, averaged."""
    generator, _, _ = load_generator(path)  # the moving average, BatchNorm as exported
    out, surface, fractions = [], [], []
    for k in range(volumes):
        z = np.random.default_rng(seed + k).standard_normal(
            (1, generator.config.nz, latent, latent, latent)
        )
        probabilities = generator(torch.from_numpy(z.astype(np.float32)))[0]
        labels, n_phases = probabilities.argmax(0).numpy(), probabilities.shape[0]
        out.append(label_two_point(labels, n_phases, SHIFTS))
        surface.append(interface_errors(labels, interfaces))
        fractions.append(np.bincount(labels.ravel(), minlength=n_phases) / labels.size)
    return np.array(out), np.mean(surface, axis=0), np.mean(fractions, axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--volumes", type=int, default=6)
    parser.add_argument("--latent", type=int, default=8, help="latent edge (8: 192³ volumes)")
    parser.add_argument("--seed", type=int, default=100, help="first latent's seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--image", default=TrainConfig.image, help="the training image")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = training_images(args.image, 3, stride=TrainConfig.image_stride)
    interfaces = expected_interface_density(images, 3, transposed=True)
    image_s2 = expected_two_point(images, 3, SHIFTS, transposed=True)[0, NMC]  # (31,)
    for path in args.checkpoints:
        curves, surface, fractions = probe(path, args.volumes, args.latent, args.seed, interfaces)
        offsets = curves - curves.mean(axis=1, keepdims=True)  # each axis minus the axes' mean
        against_image = np.sqrt(((curves[:, :, NMC].mean(axis=0) - image_s2) ** 2).mean(axis=-1))
        mean = offsets.mean(axis=0)
        rms = np.sqrt((mean**2).mean(axis=-1))  # (3, P)
        at16 = offsets[:, Y, NMC, 15]
        error = at16.std(ddof=1) / np.sqrt(len(at16)) if len(at16) > 1 else float("nan")
        rows = "; ".join(f"axis {a}: " + " / ".join(f"{v:.4f}" for v in rms[a]) for a in range(3))
        print(
            f"{path.name}: offset RMS per phase ({rows}); NMC along y at r = 16: "
            f"{at16.mean():+.4f} ± {error:.4f}; NMC interface error z / y / x: "
            + " / ".join(f"{100 * v:+.1f} %" for v in surface[:, NMC])
            + "; NMC S2 RMS against the image z / y / x: "
            + " / ".join(f"{v:.4f}" for v in against_image)
            + "; fractions pore / NMC / CBD: "
            + " / ".join(f"{v:.3f}" for v in fractions)
        )
