"""SliceGAN checkpoints: `fusion.training.checkpoints` files of format ``slicegan-nmc-checkpoint/1``.

Tensors ``G.*`` (generator), ``E.*`` (its average), ``D.*`` or ``D0.*``..``D2.*`` (critics),
``opt*`` (Adam states), ``rng.torch`` and ``<penalty>.average``; the configs, RNG state and
progress as JSON in the header. `latest.json` beside them is a readable summary.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from fusion.training import checkpoints
from fusion.training.checkpoints import atomic_write, pack_optimizer, prune_checkpoints
from fusion.training.slicegan.config import TrainConfig
from fusion.training.slicegan.model import Critic, SliceGANConfig
from fusion.training.slicegan.penalties import SystematicPenalty

__all__ = [
    "FORMAT",
    "critic_names",
    "latest_checkpoint",
    "prefixed",
    "read_checkpoint",
    "save_checkpoint",
]

FORMAT = "slicegan-nmc-checkpoint/1"


def critic_names(count: int) -> list[str]:
    """Checkpoint prefixes of the critics: "D" for the one shared critic, "D0".."D2" per axis."""
    return ["D"] if count == 1 else [f"D{axis}" for axis in range(count)]


def save_checkpoint(
    out: Path,
    cfg: TrainConfig,
    mcfg: SliceGANConfig,
    G,
    G_ema,
    critics: list[Critic],
    optG,
    critic_opts: list[torch.optim.Optimizer],
    rng: np.random.Generator,
    progress: dict,
    penalties: list[SystematicPenalty] = (),
) -> Path:
    """Write ``ckpt_<iteration>.safetensors`` and ``latest.json`` into ``out`` atomically,
    then prune older checkpoints (``keep_last``, ``keep_every``); return the checkpoint's path."""
    tensors = {f"G.{k}": v.contiguous() for k, v in G.state_dict().items()}
    tensors |= {f"E.{k}": v.contiguous() for k, v in G_ema.state_dict().items()}
    groups = {"optG_param_groups": pack_optimizer("optG", optG, tensors)}
    for name, D, optD in zip(critic_names(len(critics)), critics, critic_opts, strict=True):
        tensors |= {f"{name}.{k}": v.contiguous() for k, v in D.state_dict().items()}
        groups[f"opt{name}_param_groups"] = pack_optimizer(f"opt{name}", optD, tensors)
    meta = {
        "format": FORMAT,
        "torch": torch.__version__,
        "model_config": mcfg.to_dict(),
        "train_config": {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()
        },
        **groups,
        "numpy_rng": rng.bit_generator.state,
        **progress,
    }
    tensors["rng.torch"] = torch.get_rng_state()
    for penalty in penalties:
        if penalty.average is not None:
            tensors[f"{penalty.name}.average"] = penalty.average.contiguous()
    path = out / f"ckpt_{progress['iteration']:07d}.safetensors"
    atomic_write(path, st_save(tensors, metadata={"meta": json.dumps(meta)}))
    summary = {k: meta[k] for k in ("format", "model_config", *progress)} | {"file": path.name}
    atomic_write(out / "latest.json", (json.dumps(summary, indent=2) + "\n").encode())
    prune_checkpoints(out, cfg.keep_last, cfg.keep_every)
    return path


def prefixed(tensors: dict, name: str) -> dict:
    """The tensors stored under ``<name>.``, with that prefix removed (a module's state dict)."""
    return {k.removeprefix(f"{name}."): v for k, v in tensors.items() if k.startswith(f"{name}.")}


read_checkpoint = functools.partial(checkpoints.read_checkpoint, fmt=FORMAT)
latest_checkpoint = functools.partial(checkpoints.latest_checkpoint, fmt=FORMAT)
