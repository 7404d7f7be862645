"""Train the U-Net on SEM-like images rendered on the fly from real segmented NMC micrographs.

Usage (from the repository root, in the training environment)::

    OMP_NUM_THREADS=1 .venv-train/bin/python models/unet-nmc/train.py                   # train or resume
    OMP_NUM_THREADS=1 .venv-train/bin/python models/unet-nmc/train.py --max-iters 200   # short run
    .venv-train/bin/python models/unet-nmc/train.py --no-resume   # start again (old checkpoints set aside)
    .venv-train/bin/python models/unet-nmc/train.py --help        # every setting, with its default

Each iteration renders `batch` random crops of the *training* regions (render.SPLIT["train"]) with
freshly randomised `RenderParams` (render.RANGES) and takes one Adam step on pixel-wise cross-entropy,
with pixels within `boundary_px` of a label change weighted by (1 + boundary_weight).

Checkpoints (`ckpt_<iter>.safetensors`, no pickle) hold the weights, BatchNorm statistics, the Adam
state, the torch and numpy RNG states, and (as JSON in the safetensors header) the model config, the
training config and the progress. They are written atomically every `ckpt_minutes` and on exit
(Ctrl-C / SIGTERM); `latest.json` beside them is a readable summary; `train.log` gets every log line.
Resuming (the default) restores everything. Only run-control settings may change on resume.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save as st_save

from fusion.training import checkpoints
from fusion.training._paths import MODELS, SHARED_DATA
from fusion.training.checkpoints import (
    atomic_write,
    list_checkpoints,
    pack_optimizer,
    prune_checkpoints,
    setup_logging,
    unpack_optimizer,
)
from fusion.training.unet.evaluate import boundary_band
from fusion.training.unet.model import UNet, UNetConfig, count_parameters
from fusion.training.unet.render import CropSampler, scale_range

HERE = MODELS / "unet-nmc"
FORMAT = "unet-nmc-checkpoint/1"

# --------------------------------------------------------------------------------------------------
# Defaults


@dataclass
class TrainConfig:
    # data: the real segmented micrographs (split in render.SPLIT)
    micrographs: str = str(SHARED_DATA / "micrographs")
    crop: int = 128  # px, multiple of 2**depth
    batch: int = 8
    # model (see model.UNetConfig)
    base: int = 16
    depth: int = 4
    # optimisation
    lr: float = 1e-3  # peak learning rate, decayed on a cosine to lr_min over lr_decay_iters
    lr_min: float = 1e-5
    lr_decay_iters: int = 8000  # iterations of the cosine decay; lr_min after that
    weight_decay: float = 0.0
    boundary_weight: float = 2.0  # extra weight of pixels within boundary_px of a label change
    boundary_px: int = 2
    # run control
    max_iters: int = 20000
    seed: int = 1337
    threads: int = 1  # another job uses the other core
    out_dir: str = str(HERE / "checkpoints")
    resume: bool = True
    ckpt_minutes: float = 5.0
    keep_last: int = 3
    log_every: int = 10


def learning_rate(cfg: TrainConfig, iteration: int) -> float:
    """Cosine decay from `lr` to `lr_min` over `lr_decay_iters`, then flat at `lr_min`."""
    t = min(iteration / max(cfg.lr_decay_iters, 1), 1.0)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


RUN_CONTROL = {
    "max_iters",
    "threads",
    "out_dir",
    "resume",
    "ckpt_minutes",
    "keep_last",
    "log_every",
}
RUN_CONTROL |= {"micrographs"}


def parse_args(argv: list[str] | None) -> dict:
    """Only the settings given on the command line (argparse.SUPPRESS hides the rest)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, action=action, default=argparse.SUPPRESS)
        else:
            kind = {"int": int, "float": float, "str": str}[f.type]
            parser.add_argument(
                flag, type=kind, default=argparse.SUPPRESS, help=f"default: {f.default}"
            )
    return vars(parser.parse_args(argv))


def model_config(cfg: TrainConfig) -> UNetConfig:
    return UNetConfig(base=cfg.base, depth=cfg.depth)


# --------------------------------------------------------------------------------------------------
# Loss


def weighted_ce(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of weight * cross-entropy over pixels; logits (B, 3, H, W), labels/weight (B, H, W)."""
    ce = F.cross_entropy(logits, labels, reduction="none")  # (B, H, W)
    return (ce * weight).sum() / weight.sum()


# --------------------------------------------------------------------------------------------------
# Checkpoints: safetensors + JSON header, written atomically


read_checkpoint = functools.partial(checkpoints.read_checkpoint, fmt=FORMAT)
latest_checkpoint = functools.partial(checkpoints.latest_checkpoint, fmt=FORMAT)


def save_checkpoint(out, cfg, mcfg, model, opt, rng, progress) -> Path:
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    opt_groups = pack_optimizer("opt", opt, tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "format": FORMAT,
        "torch": torch.__version__,
        "model_config": mcfg.to_dict(),
        "train_config": dataclasses.asdict(cfg),
        "opt_param_groups": opt_groups,
        "numpy_rng": rng.bit_generator.state,
        **progress,
    }
    path = out / f"ckpt_{progress['iteration']:07d}.safetensors"
    atomic_write(path, st_save(tensors, metadata={"meta": json.dumps(meta)}))
    summary = {k: meta[k] for k in ("format", "model_config", *progress)} | {"file": path.name}
    atomic_write(out / "latest.json", (json.dumps(summary, indent=2) + "\n").encode())
    prune_checkpoints(out, cfg.keep_last)
    return path


def load_state(model, opt, tensors: dict, meta: dict) -> None:
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if opt is None:
        return
    unpack_optimizer("opt", opt, tensors, meta["opt_param_groups"])


# --------------------------------------------------------------------------------------------------
# Main


def _settings(given: dict) -> tuple[TrainConfig, Path, tuple | None]:
    """The run's config, its output folder and the checkpoint it resumes (or None); sets old
    checkpoints aside on --no-resume and refuses changes to anything but run control."""
    cfg = TrainConfig(**given)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found = latest_checkpoint(out) if cfg.resume else None
    if not cfg.resume and list_checkpoints(out):  # set old checkpoints aside, never resumed
        old = out / time.strftime("previous-%Y%m%d-%H%M%S")
        old.mkdir()
        for path in [p for _, p in list_checkpoints(out)] + [out / "latest.json"]:
            if path.exists():
                path.rename(old / path.name)
    if found is not None:
        saved = found[2]["train_config"]
        clash = {
            k: (saved[k], v) for k, v in given.items() if k not in RUN_CONTROL and saved[k] != v
        }
        if clash:
            sys.exit(f"cannot change {clash} (checkpoint, command line) on resume; use --no-resume")
        cfg = TrainConfig(**(saved | {k: v for k, v in given.items() if k in RUN_CONTROL}))
    return cfg, out, found


def _step(cfg: TrainConfig, model: UNet, opt, data: CropSampler, iteration: int) -> tuple:
    """One optimiser step on a fresh batch; returns the loss, the logits and the labels."""
    images, labels = data.sample(cfg.batch)  # (B, 1, S, S) float32, (B, S, S) int64
    images = np.stack([scale_range(image) for image in images])  # the card's preprocessing
    weight = 1.0 + cfg.boundary_weight * boundary_band(labels, cfg.boundary_px)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    for group in opt.param_groups:  # a pure function of the iteration: resumes exactly
        group["lr"] = learning_rate(cfg, iteration)
    logits = model(x)  # (B, 3, S, S)
    loss = weighted_ce(logits, y, torch.from_numpy(weight.astype(np.float32)))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss, logits, y


def main(argv: list[str] | None = None) -> None:
    """Train the U-Net with the settings on the command line (`parse_args`), resuming the
    latest checkpoint unless ``--no-resume``; SIGTERM or SIGINT saves and stops."""
    given = parse_args(argv)
    cfg, out, found = _settings(given)
    torch.set_num_threads(cfg.threads)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mcfg = model_config(cfg)
    data = CropSampler(cfg.micrographs, cfg.crop, rng)
    model = UNet(mcfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    progress = {"iteration": 0, "elapsed_s": 0.0, "loss_ema": None}
    log = setup_logging(out / "train.log", "unet-nmc")
    if found is not None:
        path, tensors, meta = found
        load_state(model, opt, tensors, meta)
        torch.set_rng_state(tensors["rng.torch"])
        rng.bit_generator.state = meta["numpy_rng"]
        progress = {k: meta[k] for k in progress}
        log(f"resumed from {path.name} at iteration {progress['iteration']}")
    else:
        log(f"new run: {count_parameters(model):,} params, config {dataclasses.asdict(cfg)}")

    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    session_start, elapsed0, last_ckpt = time.time(), progress["elapsed_s"], time.time()
    sums = {"loss": 0.0, "acc": 0.0, "n": 0}

    def checkpoint() -> None:
        nonlocal last_ckpt
        progress["elapsed_s"] = elapsed0 + time.time() - session_start
        save_checkpoint(out, cfg, mcfg, model, opt, rng, progress)
        last_ckpt = time.time()

    model.train()
    while progress["iteration"] < cfg.max_iters and stop["signal"] is None:
        loss, logits, y = _step(cfg, model, opt, data, progress["iteration"])
        progress["iteration"] += 1
        ema = progress["loss_ema"]
        progress["loss_ema"] = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        sums["loss"] += loss.item()
        sums["acc"] += (logits.argmax(1) == y).float().mean().item()
        sums["n"] += 1
        it = progress["iteration"]
        if it % cfg.log_every == 0:
            wall = elapsed0 + time.time() - session_start
            log(
                f"iter {it} wall {wall:.0f}s loss {sums['loss'] / sums['n']:.4f} "
                f"pixel_acc {sums['acc'] / sums['n']:.4f} ema {progress['loss_ema']:.4f} "
                f"lr {learning_rate(cfg, it):.2e}"
            )
            sums = dict.fromkeys(sums, 0.0)
        if time.time() - last_ckpt > 60 * cfg.ckpt_minutes:
            checkpoint()

    checkpoint()
    why = f"signal {stop['signal']}" if stop["signal"] is not None else f"max_iters {cfg.max_iters}"
    log(f"stopped ({why}) at iteration {progress['iteration']}; checkpoint saved")
