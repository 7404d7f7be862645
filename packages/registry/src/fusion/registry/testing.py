"""Builders for downstream test suites: a registry file and a model card
(``from fusion.registry.testing import write_registry, tiny_card``).

The ONNX builders that used to live here (``tiny_generator``, ``tiny_segmenter``,
``tiny_model_registry``) run models, so they are `fusion.models.testing`'s; the names still
resolve here, imported from there on first use, for existing test suites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fusion.base import hash_file

__all__ = ["sha", "tiny_card", "write_registry"]

_MOVED = ("tiny_generator", "tiny_model_registry", "tiny_segmenter")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module("fusion.models.testing"), name)
    raise AttributeError(f"module 'fusion.registry.testing' has no attribute {name!r}")


def write_registry(path: Path, datasets: dict | None = None, models: dict | None = None) -> Path:
    """``datasets``/``models``: name → {version: entry} (latest left to the default)."""
    doc = {
        "registry": "fusion-registry/1",
        "models": {n: {"versions": v} for n, v in (models or {}).items()},
        "datasets": {n: {"versions": v} for n, v in (datasets or {}).items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hash_file(path)


def _tiny_tensors() -> dict[str, Any]:
    """The toy generator's input (latent, batch and 2 channels) and output (3 phases)."""
    space = [{"name": n, "type": "space", "size": {"min": 3, "step": 1}} for n in "zyx"]
    out = [
        {"name": n, "type": "space", "size": {"tensor": "z", "axis": n, "offset": -2}}
        for n in "zyx"
    ]
    return {
        "inputs": [
            {
                "name": "z",
                "description": "latent noise",
                "dtype": "float32",
                "axes": [
                    {"name": "b", "type": "batch"},
                    {"name": "c", "type": "channel", "size": 2},
                    *space,
                ],
            }
        ],
        "outputs": [
            {
                "name": "probs",
                "description": "phase probabilities",
                "dtype": "float32",
                "axes": [
                    {"name": "b", "type": "batch"},
                    {
                        "name": "c",
                        "type": "channel",
                        "size": 3,
                        "channel_names": ["pore", "NMC", "CBD"],
                    },
                    *out,
                ],
            }
        ],
    }


def tiny_card(npz_url: str, npz_sha: str, npz_size: int, seed: int) -> dict[str, Any]:
    return {
        "description": "A toy generator for the tests: one 3x3x3 convolution and a softmax.",
        "task": "generate-3d",
        **_tiny_tensors(),
        "latent": {"tensor": "z", "distribution": "standard-normal"},
        "channels": [
            {
                "tensor": "probs",
                "name": "phase",
                "transform": "argmax",
                "dtype": "uint8",
                "long_name": "phase label",
                "units": "1",
                "modality": "SEM",
                "flag_values": [0, 1, 2],
                "flag_meanings": "pore NMC CBD",
                "voxel_size_um": 0.05,
            }
        ],
        "training_data": [
            {
                "uri": "file:///nowhere/nmc_sem_2d.tif",
                "description": "one segmented 2D SEM image of an NMC cathode",
            }
        ],
        "metrics": [
            {
                "name": "phase-fraction-abs-error",
                "value": 0.01,
                "description": "mean over 8 volumes, seeds 0-7",
            }
        ],
        "license": "MIT",
        "authors": [{"name": "Test Author"}],
        "citation": [
            {
                "text": "Kench & Cooper, Nat. Mach. Intell. 3, 299 (2021)",
                "doi": "10.1038/s42256-021-00322-1",
            }
        ],
        "test_tensors": {
            "url": npz_url,
            "sha256": npz_sha,
            "size": npz_size,
            "seed": seed,
            "tolerance": {"rtol": 1e-4, "atol": 1e-5},
        },
    }
