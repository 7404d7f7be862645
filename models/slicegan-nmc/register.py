"""Register the exported slicegan-nmc in registry.yaml with its measured metrics.

Usage (project environment, after export.py and evaluate.py)::

    .venv-train/bin/python models/slicegan-nmc/export.py --out models/slicegan-nmc/0.2.0/slicegan-nmc.onnx
    uv run python models/slicegan-nmc/evaluate.py --onnx models/slicegan-nmc/0.2.0/slicegan-nmc.onnx
    uv run python models/slicegan-nmc/register.py --version 0.2.0

Each version keeps its own folder (``0.1.0/``, ``0.2.0/``, ...), so every registered version
stays resolvable. Reads ``card.yaml`` (the hand-written card), ``metrics.json`` (evaluate.py: generated volumes
against the training image, per phase and axis), ``export.json`` (the checkpoint, its iteration
and training time) and the exported ``slicegan-nmc.onnx`` and ``test-tensors.npz`` from ``<version>/`` (or
``--folder``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _register import gan_phase_metrics, gan_training_note, register, seed_ranges  # noqa: E402

TEST_SEED = 0  # export.py draws the test latent (1, 16, 4, 4, 4) with this seed


def metrics(measured: dict) -> list[dict]:
    """Per phase: fraction error, worst per-axis surface error and S2 RMS, each with its target."""
    where = (f"{len(measured['seeds'])} generated volumes of {measured['size']}³ (seeds "
             f"{seed_ranges(measured['seeds'])}) against the training image; evaluate.py")  # fmt: skip
    return gan_phase_metrics(measured["phases"], measured["targets"], where, "image's", "z/y/x")


def training_note(record: dict, measured: dict) -> str:
    return gan_training_note(record, "models/slicegan-nmc/train.py") + (
        " All statistics targets are met (see metrics)."
        if measured["targets_met"]
        else " The statistics targets are not all met yet (see metrics); training continues."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True)
    parser.add_argument(
        "--folder", type=Path, default=None, help="where the export lies (default: <version>/)"
    )
    args = parser.parse_args()
    args.folder = args.folder or HERE / args.version
    card = yaml.safe_load((HERE / "card.yaml").read_text(encoding="utf-8"))
    record = json.loads((args.folder / "export.json").read_text())
    measured = json.loads((args.folder / "metrics.json").read_text())
    card["description"] += training_note(record, measured)
    card["metrics"] = metrics(measured)
    tensors = args.folder / "test-tensors.npz"
    entry = register(
        "slicegan-nmc", args.version, args.folder / "slicegan-nmc.onnx", card, tensors,
        tolerance={"rtol": 1e-4, "atol": 1e-5}, seed=TEST_SEED,
    )  # fmt: skip
    print(
        f"registered model:slicegan-nmc@{args.version} ({entry['size']:,} B, {entry['sha256'][:12]})"
    )


if __name__ == "__main__":
    main()
