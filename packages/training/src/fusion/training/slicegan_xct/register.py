"""Register a ground-truth export (iso: slicegan-nmc-xct, aniso: slicegan-nmc-xct-aniso) in
registry.yaml with the metrics groundtruth.py measured against the real volume.

Usage (project environment, after export.py and groundtruth.py)::

    uv run python models/slicegan-nmc-xct/register.py --variant iso --version 0.1.0

Reads the flagship's ``card.yaml`` (same generator: inputs, outputs, latent, licence), this
folder's ``card.yaml`` (what differs, and the variant's name and description), and from the
variant's folder (``iso/`` or ``aniso/``, or ``--folder``) ``groundtruth.json``, ``export.json``,
the exported ``slicegan-nmc-xct.onnx`` and ``test-tensors.npz``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from fusion.registry import register_model
from fusion.registry.authoring import gan_phase_metrics, gan_training_note, seed_ranges

from .._paths import MODELS, REPOSITORY

HERE = MODELS / "slicegan-nmc-xct"
REGISTRY = REPOSITORY / "registry.yaml"

FLAGSHIP_CARD = HERE.parent / "slicegan-nmc" / "card.yaml"
TEST_SEED = 0  # export.py draws the test latent (1, 16, 4, 4, 4) with this seed
AXES = "0 / 1 / 2"


def card_for(variant: str) -> tuple[str, dict]:
    """The variant's registry name and hand-written card: the flagship's, with this folder's
    fields in place of its own."""
    card = yaml.safe_load(FLAGSHIP_CARD.read_text(encoding="utf-8"))
    own = yaml.safe_load((HERE / "card.yaml").read_text(encoding="utf-8"))
    chosen = own.pop("variants")[variant]
    return chosen["name"], card | own | {"description": chosen["description"]}


def metrics(measured: dict) -> list[dict]:
    """Per phase: fraction error, worst per-axis surface error and S2 RMS; per axis: τ_pore's
    relative error; and whether the axes come in the real volume's order of τ."""
    where = (f"{len(measured['seeds'])} generated volumes of {measured['crop'][0]}³ (seeds "
             f"{seed_ranges(measured['seeds'])}) against the real volume; groundtruth.py")  # fmt: skip
    targets = measured["targets"]
    out = gan_phase_metrics(measured["phases"], targets, where, "real", AXES)
    tau = measured["tau_pore"]
    for axis, (value, spread, real, error) in enumerate(
        zip(
            tau["per_axis"],
            tau["std_per_axis"],
            tau["real_per_axis"],
            tau["rel_error_per_axis"],
            strict=True,
        )
    ):
        out.append(
            {"name": f"tau-pore-rel-error-axis-{axis}", "value": round(error, 4),
             "description": f"pore tortuosity factor along axis {axis}: {value:.3f} ± {spread:.3f} "
                            f"against the real {real:.3f} (fusion.analysis, TauFactor's definition) "
                            f"over {where}; target ≤ {targets['tau_rel']}"}
        )  # fmt: skip
    same = tau["axis_order"] == tau["axis_order_real"]
    out.append(
        {"name": "tau-pore-axis-order", "value": 1.0 if same else 0.0,
         "description": f"1 when the axes sorted by τ come in the real order "
                        f"{tau['axis_order_real']} (generated: {tau['axis_order']}), else 0"}
    )  # fmt: skip
    return out


def training_note(record: dict) -> str:
    return gan_training_note(record, "models/slicegan-nmc/train.py")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["iso", "aniso"], required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--folder", type=Path, default=None, help="default: the variant's folder")
    args = parser.parse_args(argv)
    folder = args.folder or HERE / args.variant
    name, card = card_for(args.variant)
    record = json.loads((folder / "export.json").read_text())
    measured = json.loads((folder / "groundtruth.json").read_text())
    card["description"] += training_note(record)
    card["metrics"] = metrics(measured)
    entry = register_model(
        REGISTRY, name, args.version, folder / "slicegan-nmc-xct.onnx", card,
        folder / "test-tensors.npz", tolerance={"rtol": 1e-4, "atol": 1e-5}, seed=TEST_SEED,
    )  # fmt: skip
    print(f"registered model:{name}@{args.version} ({entry.size:,} B, {entry.sha256[:12]})")


if __name__ == "__main__":
    main()
