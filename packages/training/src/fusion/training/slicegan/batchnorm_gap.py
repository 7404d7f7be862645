"""How far a released generator's exported (eval-mode) output is from its training-mode output.

Usage (training environment: torch, onnx)::

    .venv-train/bin/python models/slicegan-nmc/batchnorm_gap.py models/slicegan-nmc/0.2.0/slicegan-nmc.onnx

The generator is read back from the release (warm_start.py) and both modes are run on the same
latents, in batches of ``--batch`` 64³ volumes (the training run's ``fake_volumes``): training mode
normalises each batch by its own BatchNorm statistics, as the critic saw it; eval mode by the
standing statistics the export folded in. Printed per mode: the mean NMC fraction, its standard
deviation between volumes and between their 64² slices (every 8th, along all three axes), and
each phase's interface density (boundaries crossed per voxel, averaged over the axes); and the
paired difference of the NMC fraction with its standard error. A generator trained with frozen
BatchNorm (train.py --frozen-batchnorm) has no gap by construction.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

from fusion.models import metrics
from fusion.training.slicegan.model import (
    Generator,
    SliceGANConfig,
    freeze_batchnorm,
    standing_statistics,
)

NMC = 1


def interface_density(labels: np.ndarray, phase: int) -> float:
    """Boundaries of ``phase`` crossed per voxel step (`fusion.models.metrics`), averaged over
    the axes."""
    density = metrics.interface_density
    return float(np.mean([density(labels, phase, axis) for axis in range(labels.ndim)]))


def describe(volumes: list[np.ndarray], phases: int) -> dict:
    """NMC fraction (mean, sd between volumes and between 64² slices) and interface densities."""
    fractions = np.array([np.mean(v == NMC) for v in volumes])
    slices = [
        np.mean(np.moveaxis(v == NMC, axis, 0)[::8], axis=(1, 2))
        for v in volumes
        for axis in range(3)
    ]
    return {
        "nmc_mean": float(fractions.mean()),
        "nmc_sd_volumes": float(fractions.std()),
        "nmc_sd_slices": float(np.concatenate(slices).std()),
        "interface_density": [
            float(np.mean([interface_density(v, p) for v in volumes])) for p in range(phases)
        ],
        "nmc_per_volume": fractions,
    }


@torch.no_grad()
def batchnorm_gap(generator: Generator, batches: int, batch: int = 2, seed: int = 11) -> dict:
    """Both modes of ``generator`` (training-mode weights and statistics as given) on the same
    ``batches`` × ``batch`` latents of the training size."""
    config = generator.config
    exported = copy.deepcopy(generator)
    if not exported.frozen_norms:
        exported = standing_statistics(exported)
    modes = {"training": generator.train(), "exported": exported.eval()}
    rng = torch.Generator().manual_seed(seed)
    size = config.train_latent
    volumes = {name: [] for name in modes}
    for _ in range(batches):
        latent = torch.randn(batch, config.nz, size, size, size, generator=rng)
        for name, model in modes.items():
            volumes[name] += list(model(latent).argmax(1).to(torch.uint8).numpy())
    found = {name: describe(v, config.n_phases) for name, v in volumes.items()}
    paired = found["training"].pop("nmc_per_volume") - found["exported"].pop("nmc_per_volume")
    found["nmc_paired_difference"] = float(paired.mean())
    found["nmc_paired_standard_error"] = float(paired.std() / np.sqrt(paired.size))
    found["volumes"] = int(paired.size)
    return found


def main(argv: list[str] | None = None) -> None:
    from fusion.training.slicegan import warm_start

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnx", type=Path, help="a release: <version>/slicegan-nmc.onnx")
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--batch", type=int, default=2, help="volumes per batch (training: 2)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    record = warm_start.read_export_record(args.onnx)
    frozen = bool(record["train_config"].get("frozen_batchnorm"))
    generator = warm_start.generator_from_export(args.onnx, SliceGANConfig())
    if frozen:  # trained frozen: its standing statistics are the ones it trained with
        freeze_batchnorm(generator)
    print(json.dumps(batchnorm_gap(generator, args.batches, args.batch), indent=2))
