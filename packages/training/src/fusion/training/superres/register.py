"""Register a super-resolution export in registry.yaml with its measured metrics.

Reads ``models/<name>/card.yaml`` (the hand-written card), ``<version>/export.json``
(checkpoint, iteration, training time), ``<version>/metrics.json`` (evaluate.py) and the
export's ONNX file and test tensors, and writes ``<version>/card.yaml`` and the registry
entry (`fusion.registry.register_model`).

Usage: ``uv run python models/<name>/register.py --version 0.1.0``.
"""

from __future__ import annotations

import argparse
import json

import yaml

from fusion.registry import register_model

from .._paths import MODELS, REPOSITORY
from .data import TEST_SEED

__all__ = ["card_metrics", "main"]

PHASE_NAMES = {"0": "pore", "1": "NMC", "2": "CBD"}


def _metric(name: str, value: float, description: str) -> dict:
    return {"name": name, "value": round(float(value), 4), "description": description}


def card_metrics(name: str, measured: dict) -> list[dict]:
    """The card's metrics from evaluate.py's record, each with its target in words."""
    if name == "superres-nmc-xct":
        return _xct_metrics(measured)
    return _nmc_metrics(measured)


def _xct_metrics(m: dict) -> list[dict]:
    seeds = f"{len(m['seeds'])} seeds on the held-out half (z ≥ 64, 64 × 128 × 128 fine voxels)"
    model, base, t = m["model"], m["baseline"], m["targets"]
    out = [_metric("agreement", m["agreement"],
                   f"lowest over {seeds} of the share of input voxels whose 4³ block of the output "
                   f"has the input's NMC majority; target ≥ {t['agreement']}")]  # fmt: skip
    for p, phase in PHASE_NAMES.items():
        out.append(_metric(f"fraction-abs-error-{phase}", model["fraction_abs_error"][p],
                           f"|fraction − truth's {m['truth']['fraction'][p]:.4f}|, mean over {seeds}; "
                           f"baseline {base['fraction_abs_error'][p]:.4f}; target ≤ {t['fraction']}"))  # fmt: skip
        out.append(_metric(f"crossings-rel-error-{phase}", model["crossings_rel_error"][p],
                           f"relative error of the boundary crossings per voxel (mean of the axes; truth "
                           f"{m['truth']['crossings'][p]:.4f}), mean over {seeds}; baseline "
                           f"{base['crossings_rel_error'][p]:+.3f}; target within ±{t['crossings']}"))  # fmt: skip
        out.append(_metric(f"s2-rms-{phase}", model["s2_rms"][p],
                           f"worst axis of the RMS difference of S2(r), r < 32, mean over {seeds}; "
                           f"baseline {base['s2_rms'][p]:.4f}; target ≤ {t['s2']}"))  # fmt: skip
    for a, axis in enumerate("zyx"):
        out.append(_metric(f"tau-pore-rel-error-{axis}", model["tau_rel_error"][a],
                           f"relative error of the pore tortuosity factor along {axis} (truth "
                           f"{m['truth']['tau_pore'][a]:.3f}), mean over {seeds}; baseline "
                           f"{base['tau_rel_error'][a]:+.3f}; target within ±{t['tau']}"))  # fmt: skip
    return out


def _nmc_metrics(m: dict) -> list[dict]:
    crops = f"{len(m['crops'])} crops of 32³ cells (256³ fine voxels) of the real XCT"
    e, s, t = m["errors"], m["sem"], m["targets"]
    return [
        _metric("agreement", min(c["agreement"] for c in m["crops"]),
                f"lowest over {crops} of the share of input voxels whose 8³ block of the output has "
                f"the input's particle majority; target ≥ {t['agreement']}"),
        _metric("cbd-share-abs-error", e["cbd_share_abs_error"],
                f"|CBD share of the non-particle voxels ({m['mean']['cbd_share']:.3f}) − the SEM's "
                f"({s['cbd_share']:.3f})|, mean over {crops}; target ≤ {t['cbd_share']}"),
        _metric("chord-pore-rel-error", e["chord_pore_rel_error"],
                f"relative error of the mean pore chord ({m['mean']['chord_pore']:.2f} voxels; the "
                f"SEM's {s['chord_pore']:.2f} px), mean over {crops}; target within ±{t['chord']}"),
        _metric("chord-cbd-rel-error", e["chord_cbd_rel_error"],
                f"relative error of the mean CBD chord ({m['mean']['chord_cbd']:.2f} voxels; the "
                f"SEM's {s['chord_cbd']:.2f} px), mean over {crops}; target within ±{t['chord']}"),
    ]  # fmt: skip


def training_note(record: dict, script: str) -> str:
    config = record.get("train_config") or {}
    hours = (record.get("elapsed_s") or 0) / 3600
    return (
        f" Trained {record['iteration']:,} iterations ({config.get('warmup_iters', 0)} on the "
        f"voxel-wise loss alone at lr {config.get('warmup_lr')}, then {config.get('critic_iters')} "
        f"critic updates per generator step, Adam lr {config.get('lr_g')}, WGAN-GP λ "
        f"{config.get('gp_lambda')}, batches of {config.get('batch')} volumes of "
        f"{config.get('cells')}³ cells) in {hours:.1f} h on one CPU thread of a 2-core AMD EPYC, "
        f"no GPU ({script}, seed {config.get('seed')}); exported weights: the moving average "
        f"(decay {config.get('ema_decay')})." + changes_note(record)
    )


def changes_note(record: dict) -> str:
    """The settings a run changed on resume (export.json's ``data_changes``), in words."""
    unset = {"content_margin": "0 (squared error)", "init_from": "none"}
    said = [
        f"{c['setting'].replace('_', ' ')} "
        f"{c['from'] if c['from'] is not None else unset.get(c['setting'], 'unset')} → "
        f"{c['to']} at {c['iteration']:,}"
        for c in record.get("data_changes") or []
    ]
    return f" Settings changed on resume: {'; '.join(said)}." if said else ""


def main(argv: list[str] | None = None, name: str | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if name is None:
        parser.add_argument("name")
    parser.add_argument("--version", required=True)
    args = parser.parse_args(argv)
    name = name or args.name
    here = MODELS / name
    folder = here / args.version
    card = yaml.safe_load((here / "card.yaml").read_text(encoding="utf-8"))
    record = json.loads((folder / "export.json").read_text())
    measured = json.loads((folder / "metrics.json").read_text())
    card["description"] += training_note(record, f"models/{name}/train.py")
    card["metrics"] = card_metrics(name, measured)
    entry = register_model(
        REPOSITORY / "registry.yaml", name, args.version, folder / f"{name}.onnx", card,
        folder / "test-tensors.npz", tolerance={"rtol": 1e-4, "atol": 1e-5}, seed=TEST_SEED,
    )  # fmt: skip
    print(f"registered model:{name}@{args.version} ({entry.size:,} B, {entry.sha256[:12]})")


if __name__ == "__main__":
    main()
