"""Register the exported unet-nmc in registry.yaml with its measured metrics.

Usage (project environment, after export.py and evaluate.py)::

    uv run python models/unet-nmc/register.py --version 0.1.0

Reads ``card.yaml`` (the hand-written card), ``results/heldout-eval.json`` (written by
``evaluate.py otsu rf onnx --out ...``), ``results/ceiling.json`` (``ceiling.py``) and the exported ``unet-nmc.onnx`` and
``test-tensors.npz``. Metrics are the U-Net's on the pooled held-out renderings, each named
with the baselines' values in its description so the card shows the comparison.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from fusion.registry import register_model

from .._paths import MODELS, REPOSITORY

HERE = MODELS / "unet-nmc"
REGISTRY = REPOSITORY / "registry.yaml"

PHASES = ("pore", "NMC", "CBD")


def metrics(results: dict, model: str = "onnx") -> list[dict]:
    """The card's metrics: the model's pooled numbers, with both baselines in the text."""
    ours, otsu, rf = (results[k]["all"] for k in (model, "otsu", "rf"))
    where = (
        f"{ours['images']} held-out renderings (evaluate.py; SEM columns 520-757 and XCT slices), "
        "pooled pixels"
    )

    def versus(key: str, phase: str | None = None) -> str:
        pick = (lambda r: r[key][phase]) if phase else (lambda r: r[key])
        return f"; multi-level Otsu {pick(otsu):.4f}, random forest {pick(rf):.4f}"

    out = [
        {"name": f"iou-{p}", "value": round(ours["iou"][p], 4),
         "description": f"IoU of {p} on {where}{versus('iou', p)}"}
        for p in PHASES
    ]  # fmt: skip
    ceiling = json.loads((HERE / "results" / "ceiling.json").read_text())["evaluation-set"]
    for key, text in [
        (
            "mean_iou",
            "mean IoU over the three phases (a noise-free oracle that sees the true "
            f"labels through each rendering's probe blur reaches {ceiling['mean_iou']:.3f})",
        ),
        ("band_mean_iou", "mean IoU within 2 px of a true label change (the boundary band)"),
        ("boundary_f1", "boundary F1 (boundary pixels matched within 2 px)"),
    ]:
        out.append({"name": key.replace("_", "-"), "value": round(ours[key], 4),
                    "description": f"{text} on {where}{versus(key)}"})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True)
    parser.add_argument("--results", type=Path, default=HERE / "results" / "heldout-eval.json")
    args = parser.parse_args()
    card = yaml.safe_load((HERE / "card.yaml").read_text(encoding="utf-8"))
    card["metrics"] = metrics(json.loads(args.results.read_text()))
    entry = register_model(
        REGISTRY, "unet-nmc", args.version, HERE / "unet-nmc.onnx", card, HERE / "test-tensors.npz",
        tolerance={"rtol": 1e-4, "atol": 1e-4},
    )  # fmt: skip
    print(f"registered model:unet-nmc@{args.version} ({entry.size:,} B, {entry.sha256[:12]})")


if __name__ == "__main__":
    main()
