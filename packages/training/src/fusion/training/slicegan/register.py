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
from pathlib import Path

import yaml

from fusion.registry import register_model
from fusion.registry.authoring import gan_phase_metrics, gan_training_note, seed_ranges

from .._paths import MODELS, REPOSITORY

HERE = MODELS / "slicegan-nmc"
REGISTRY = REPOSITORY / "registry.yaml"

TEST_SEED = 0  # export.py draws the test latent (1, 16, 4, 4, 4) with this seed


def metrics(measured: dict, suffix: str = "") -> list[dict]:
    """Per phase: fraction error, worst per-axis surface error and S2 RMS, each with its target;
    ``suffix`` tells apart the metrics of an evaluation at another size (``-512``)."""
    where = (f"{len(measured['seeds'])} generated volumes of {measured['size']}³ (seeds "
             f"{seed_ranges(measured['seeds'])}) against the training image; evaluate.py")  # fmt: skip
    found = gan_phase_metrics(measured["phases"], measured["targets"], where, "image's", "z/y/x")
    return [{**m, "name": m["name"] + suffix} for m in found]


def evaluations(folder: Path) -> dict[str, dict]:
    """evaluate.py's records in ``folder`` by the suffix their metrics get on the card:
    ``metrics.json`` (256³, the card's reference) as ``""``, then each ``metrics-<size>.json``
    as ``"-<size>"``, by size."""
    others = sorted(folder.glob("metrics-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    paths = [folder / "metrics.json", *others]
    return {p.stem.removeprefix("metrics"): json.loads(p.read_text()) for p in paths}


def volumes_of(measured: list[dict]) -> str:
    return " and ".join(f"{len(m['seeds'])} volumes of {m['size']}³" for m in measured)


def training_note(record: dict, measured: list[dict]) -> str:
    met = [m for m in measured if m["targets_met"]]
    missed = [m for m in measured if not m["targets_met"]]
    if not missed:
        verdict = f" All statistics targets are met over {volumes_of(met)} (see metrics)."
    elif met:
        verdict = (f" The statistics targets are met over {volumes_of(met)} but not over "
                   f"{volumes_of(missed)} (see metrics).")  # fmt: skip
    else:
        verdict = " The statistics targets are not all met yet (see metrics); training continues."
    return gan_training_note(record, "models/slicegan-nmc/train.py") + verdict


def redraw_test_tensors(onnx: Path, card: dict, out: Path) -> None:
    """The test tensors of ``card`` for ``onnx``: the latent its recipe draws for `TEST_SEED`
    (1, 16, 4, 4, 4) and what onnxruntime makes of it (``labels``, ``probabilities``)."""
    import numpy as np

    from fusion.models import open_session
    from fusion.registry import LatentSpec, draw_latent

    latent = draw_latent(LatentSpec.model_validate(card["latent"]), (1, 16, 4, 4, 4), TEST_SEED)
    session = open_session(onnx, "cpu").session
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, {"latent": latent}), strict=True))
    np.savez_compressed(out, latent=latent, **outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True)
    parser.add_argument(
        "--folder", type=Path, default=None, help="where the export lies (default: <version>/)"
    )
    parser.add_argument(
        "--onnx", type=Path, default=None,
        help="an earlier version's ONNX file, registered again under --version (its weights "
        "with a new card, e.g. 0.5.0's latent recipe); the test tensors are then redrawn as "
        "the card says and run through it (default: <folder>/slicegan-nmc.onnx)",
    )  # fmt: skip
    args = parser.parse_args()
    args.folder = args.folder or HERE / args.version
    card = yaml.safe_load((HERE / "card.yaml").read_text(encoding="utf-8"))
    onnx = args.onnx or args.folder / "slicegan-nmc.onnx"
    if args.onnx is not None:
        redraw_test_tensors(onnx, card, args.folder / "test-tensors.npz")
    record = json.loads((args.folder / "export.json").read_text())
    measured = evaluations(args.folder)
    card["description"] += training_note(record, list(measured.values()))
    card["metrics"] = [m for suffix, e in measured.items() for m in metrics(e, suffix)]
    tensors = args.folder / "test-tensors.npz"
    entry = register_model(
        REGISTRY, "slicegan-nmc", args.version, onnx, card, tensors,
        tolerance={"rtol": 1e-4, "atol": 1e-5}, seed=TEST_SEED,
    )  # fmt: skip
    print(f"registered model:slicegan-nmc@{args.version} ({entry.size:,} B, {entry.sha256[:12]})")


if __name__ == "__main__":
    main()
