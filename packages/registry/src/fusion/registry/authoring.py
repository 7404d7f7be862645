"""Helpers that write the text of model cards: training notes and metrics of GAN exports.

Used by the ``register.py`` of each SliceGAN-family model (``models/slicegan-nmc``,
``models/slicegan-nmc-xct``) to turn what ``export.py`` and the evaluations recorded
(``export.json``, ``metrics.json``, ``groundtruth.json``) into the card's description and
metrics before ``fusion.registry.register_model`` writes it.

>>> seed_ranges([0, 1, 2, 3, 7])
'0–3, 7'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "data_history",
    "first_lr",
    "fraction_spread",
    "gan_phase_metrics",
    "gan_training_note",
    "penalty_note",
    "seed_ranges",
    "threads_of",
    "warm_start_history",
    "warm_start_sentence",
]


def data_history(record: dict[str, Any]) -> str:
    """The data settings a run changed on resume (export.json's ``data_changes``), in words."""
    changes = [
        f"{name.replace('_', ' ')} {was} → {now} at {change['iteration']:,}"
        for change in record.get("data_changes", [])
        for name, (was, now) in ((k, v) for k, v in change.items() if k != "iteration")
    ]
    return f" Data settings changed on resume: {'; '.join(changes)}." if changes else ""


def penalty_note(config: dict[str, Any]) -> str:
    """The generator penalties a run ended with (train.py's ``--anisotropy-weight``,
    ``--interface-weight``, ``--fraction-weight``), in words: with them the card's metrics
    measure an objective the training batches were partly held to."""
    held = []
    if config.get("anisotropy_weight"):
        held.append(
            "each axis's S2 against the image's"
            if config.get("s2_reference") == "image"
            else "the three axes' S2 to one another (isotropy)"
        )
    if config.get("interface_weight"):
        held.append("each axis's interface density against the image's")
    if config.get("fraction_weight"):
        held.append("the phase fractions against the image's")
    if not held:
        return ""
    return (
        " Besides the critic, the generator was held by penalties to "
        + "; ".join(held)
        + " (running means of its 64³ training batches): the metrics below measure, on new"
        " seeds and larger volumes, statistics it was partly trained on."
    )


def threads_of(config: dict[str, Any]) -> str:
    """The training threads in words: "one CPU thread", or "up to N CPU threads" for a run
    that last ran on N (the thread count may change on resume)."""
    threads = int(config.get("threads", 1))
    return "one CPU thread" if threads == 1 else f"up to {threads} CPU threads"


def gan_training_note(record: dict[str, Any], script: str) -> str:
    """How a SliceGAN export was trained, for its card: steps, optimiser, time, hardware, the
    exported weights, their BatchNorm statistics and any data changes (from export.json)."""
    config = record["train_config"]
    hours = (record.get("elapsed_s") or 0) / 3600
    return (
        f" Trained {record['iteration']:,} generator steps ({config['critic_iters']} critic "
        f"iterations each, Adam lr {first_lr(record)}, WGAN-GP λ {config['gp_lambda']}) in "
        f"{hours:.1f} h on {threads_of(config)} of a 2-core AMD EPYC, no GPU ({script}, seed "
        f"{config['seed']}); exported weights: {record.get('weights', 'trained')}, BatchNorm "
        f"statistics {record.get('batchnorm_statistics', 'stored in the checkpoint')}."
        + data_history(record)
        + penalty_note(config)
        + warm_start_history(record)
    )


def first_lr(record: dict[str, Any]) -> float:
    """The learning rate a run began with (a warm start may have lowered it since)."""
    lr = record["train_config"]["lr"]
    start = record.get("warm_start")
    while start:
        lr = start.get("lr_before", lr)
        start = start.get("previous")
    return lr


def warm_start_history(record: dict[str, Any]) -> str:
    """Where a run was warm-started from a release (export.json's ``warm_start``, which names the
    release's own warm start as ``previous``), in words, oldest first."""
    starts = []
    start = record.get("warm_start")
    while start:
        starts.insert(0, start)
        start = start.get("previous")
    return "".join(warm_start_sentence(start) for start in starts)


def warm_start_sentence(start: dict[str, Any]) -> str:
    """One warm start (train.py --init-from) in words."""
    lr, before = start.get("lr"), start.get("lr_before")
    return (
        f" Checkpoints were lost at {start['iteration']:,}: training went on from that release's "
        f"averaged generator ({Path(start['from']).parent.name}/{Path(start['from']).name}, sha256 "
        f"{start['sha256'][:12]}) with a new critic trained alone for {start['critic_warmup']} "
        "rounds and new optimiser states (train.py --init-from)."
        + (
            " From then on BatchNorm was frozen at the release's standing statistics "
            "(--frozen-batchnorm): the exported generator is the trained function."
            if start.get("frozen_batchnorm")
            else ""
        )
        + (
            f" Adam's lr went from {before} to {lr} there."
            if lr is not None and lr != before
            else ""
        )
    )


def seed_ranges(seeds: list[int]) -> str:
    """Seeds as runs of consecutive numbers: ``[0, 1, 2, 3, 7]`` → ``"0–3, 7"``."""
    runs: list[list[int]] = []
    for seed in seeds:
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def fraction_spread(r: dict[str, Any]) -> str:
    """The seeds' spread of a phase's fraction and the standard error of their mean, if measured."""
    sd = r.get("fraction_seed_sd")
    if sd is None:
        return ""
    error = sd / len(r["fraction_per_seed"]) ** 0.5
    return f" (sd between volumes {sd:.3f}, standard error of the mean {error:.4f})"


def gan_phase_metrics(
    phases: dict[str, Any], targets: dict[str, float], where: str, reference: str, axes: str
) -> list[dict[str, Any]]:
    """Card metrics per phase of a generator's evaluation: the fraction error and the worst axis
    of the surface error and of the S2 RMS, each with its target. ``reference`` names what the
    volumes were compared with (``image's``, ``real``; its fraction is ``fraction_<word>`` in
    ``phases``), ``axes`` labels the per-axis values (``z/y/x``, ``0 / 1 / 2``)."""
    key = "fraction_" + reference.removesuffix("'s")
    out = []
    for phase, r in phases.items():
        out += [
            {"name": f"fraction-abs-error-{phase}", "value": round(r["fraction_abs"], 4),
             "description": f"|volume fraction − {reference} {r[key]:.4f}|{fraction_spread(r)} "
                            f"over {where}; target ≤ {targets['fraction_abs']}"},
            {"name": f"surface-rel-error-{phase}", "value": round(max(r["surface_rel_per_axis"]), 4),
             "description": f"worst axis of the relative error of the interface density ({axes}: "
                            + " / ".join(f"{v:.3f}" for v in r["surface_rel_per_axis"])
                            + f") over {where}; target ≤ {targets['surface_rel']}"},
            {"name": f"s2-rms-{phase}", "value": round(max(r["s2_rms_per_axis"]), 4),
             "description": f"worst axis of the RMS difference of S2(r), r < 32 ({axes}: "
                            + " / ".join(f"{v:.4f}" for v in r["s2_rms_per_axis"])
                            + f") over {where}; target ≤ {targets['s2_rms']}"},
        ]  # fmt: skip
    return out
