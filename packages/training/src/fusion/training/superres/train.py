"""Train a super-resolution model: WGAN-GP with 2D critics on the generator's slices plus a
voxel-wise loss that keeps the output's block means on the low-res input (torch).

An iteration is ``critic_iters`` critic updates (each critic once, on fresh real crops and on
slices of one batch of generated volumes) and one generator update. The exported generator is
the exponential moving average of the trained one. Checkpoints (`fusion.training.checkpoints`,
format ``superres-checkpoint/1``, no pickle) are written every ``ckpt_minutes`` and on SIGTERM
or SIGINT; a run continues from the newest one unless ``--no-resume``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save as st_save

from fusion.training import checkpoints
from fusion.training._paths import MODELS, SHARED_DATA
from fusion.training.gan import critic_step, update_average

from .data import TrainingData, nmc_pair, nmc_xct_pair
from .model import CONTEXT, Critic, SuperResConfig, SuperResGenerator, block_mean

__all__ = ["FORMAT", "PRESETS", "TrainConfig", "load_generator", "main"]

FORMAT = "superres-checkpoint/1"


@dataclass
class TrainConfig:
    model: str = "superres-nmc-xct"
    cells: int = 8  # low-res cells per training volume edge (output: scale · cells)
    batch: int = 4
    slices_per_axis: int = 32  # per volume and axis, for the critics
    critic_iters: int = 4
    content_weight: float = 100.0
    content_margin: float = 0.0  # 0: squared error to the 0/1 input; > 0: majority hinge
    calibrated_content: bool = False  # squared error to the block targets (known fine truth)
    adversarial_weight: float = 1.0
    warmup_iters: int = 300  # generator steps on the voxel-wise loss alone, before the critics
    warmup_lr: float = 1e-3
    gp_lambda: float = 10.0
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    ema_decay: float = 0.995
    max_iters: int = 100_000
    ckpt_minutes: float = 5.0
    log_every: int = 20
    seed: int = 0


PRESETS = {
    "superres-nmc-xct": (SuperResConfig(scale=4, stage_widths=(32, 16)), {"cells": 8, "batch": 4}),
    "superres-nmc": (
        SuperResConfig(
            scale=8, stage_widths=(32, 16, 8), upsample="nearest", last_upsample="nearest"
        ),
        {"cells": 8, "batch": 2, "slices_per_axis": 16},
    ),
}


def training_data(name: str) -> TrainingData:
    micro = SHARED_DATA / "micrographs"
    if name == "superres-nmc-xct":
        return nmc_xct_pair(micro / "nmc_xct_3d_3phase_128cube.tif", crop=32)
    return nmc_pair(
        micro / "nmc_lowres_3d_2phase_128cube.tif", micro / "nmc_sem_2d_3phase_628x758.tif", 64
    )


def lowres_batch(data: TrainingData, cfg: TrainConfig, mcfg: SuperResConfig, rng) -> tuple:
    """(input (B, 1+nz, n+8, …) with fresh noise, centre indicator (B, 1, n, n, n))."""
    side = cfg.cells + 2 * CONTEXT
    crops = []
    for _ in range(cfg.batch):
        origin = [int(rng.integers(n - side + 1)) for n in data.lowres.shape]
        crop = data.lowres[tuple(slice(o, o + side) for o in origin)]
        for axis in range(3):  # the three axes' directions are symmetric under flips
            if rng.random() < 0.5:
                crop = np.flip(crop, axis)
        crops.append(crop)
    indicator = torch.from_numpy(np.stack(crops).astype(np.float32))[:, None]
    noise = torch.randn(cfg.batch, mcfg.nz, side, side, side)
    centre = indicator[..., CONTEXT:-CONTEXT, CONTEXT:-CONTEXT, CONTEXT:-CONTEXT]
    return torch.cat([indicator, noise], 1), centre


def content_loss(means: torch.Tensor, indicator: torch.Tensor, margin: float) -> torch.Tensor:
    """The voxel-wise loss on the output's block means of NMC probability. ``margin`` 0: the
    squared error to the 0/1 input (every block pushed to all or nothing). ``margin`` > 0:
    a coarse voxel says which phase holds the *majority* of its block, not that the block is
    pure, so only a block mean on the wrong side of ``0.5 ± margin`` is penalised (squared
    hinge), and the critics decide the mix inside."""
    if margin <= 0:
        return F.mse_loss(means, indicator)
    sign = 2 * indicator - 1  # +1 NMC, −1 the rest
    return F.relu(margin - sign * (means - 0.5)).pow(2).mean()


def fake_slices(probs: torch.Tensor, axis: int, count: int) -> torch.Tensor:
    """``count`` random slices per volume normal to ``axis`` of (B, 3, Z, Y, X)."""
    index = torch.randperm(probs.shape[axis + 2])[:count]
    moved = probs.index_select(axis + 2, index).movedim(axis + 2, 1)
    return moved.reshape(-1, *moved.shape[2:])


def one_hot(labels: np.ndarray, phases: int) -> torch.Tensor:
    return F.one_hot(torch.from_numpy(labels), phases).permute(0, 3, 1, 2).float()


class Run:
    def __init__(self, cfg: TrainConfig, mcfg: SuperResConfig, out: Path) -> None:
        torch.manual_seed(cfg.seed)
        self.cfg, self.mcfg, self.out = cfg, mcfg, out
        self.rng = np.random.default_rng(cfg.seed)
        self.data = training_data(cfg.model)
        self.G = SuperResGenerator(mcfg)
        self.E = copy.deepcopy(self.G)
        self.critics = [Critic(mcfg) for _ in self.data.reals]
        self.optG = torch.optim.Adam(self.G.parameters(), cfg.lr_g, betas=(0.5, 0.9))
        self.optD = [
            torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(0.5, 0.9)) for D in self.critics
        ]
        self.iteration, self.elapsed = 0, 0.0
        self.changes: list[dict] = []  # settings changed on resume: {iteration, setting, from, to}

    def critic_for(self, axis: int) -> int:
        return axis if len(self.critics) == 3 else 0

    def step(self) -> dict:
        cfg, mcfg = self.cfg, self.mcfg
        n = cfg.slices_per_axis
        if self.iteration >= cfg.warmup_iters:
            x, _ = lowres_batch(self.data, cfg, mcfg, self.rng)
            with torch.no_grad():
                fake = torch.softmax(self.G(x), 1)
        warm = self.iteration < cfg.warmup_iters
        stats = {"wass": 0.0, "gp": 0.0}
        for _ in range(0 if warm else cfg.critic_iters):
            for axis in range(3):
                k = self.critic_for(axis)
                slices = fake_slices(fake, axis, n)
                real = one_hot(self.data.real_crops(k, slices.shape[0], self.rng), mcfg.n_phases)
                w, gp = critic_step(
                    self.critics[k],
                    self.optD[k],
                    real,
                    slices,
                    gp_lambda=cfg.gp_lambda,
                    gp_batch=64,
                )
                stats["wass"] += w / (3 * cfg.critic_iters)
                stats["gp"] += gp / (3 * cfg.critic_iters)
        x, centre = lowres_batch(self.data, cfg, mcfg, self.rng)
        for group in self.optG.param_groups:
            group["lr"] = cfg.warmup_lr if warm else cfg.lr_g
        self.optG.zero_grad(set_to_none=True)
        probs = torch.softmax(self.G(x), 1)
        adv = torch.zeros(())
        if not warm:
            adv = (
                -sum(
                    self.critics[self.critic_for(a)](fake_slices(probs, a, n)).mean()
                    for a in range(3)
                )
                / 3
            )
        means = block_mean(probs[:, 1:2], mcfg.scale)
        if cfg.calibrated_content and self.data.block_targets is not None:
            rest, nmc = self.data.block_targets
            content = F.mse_loss(means, rest + (nmc - rest) * centre)
        else:
            content = content_loss(means, centre, cfg.content_margin)
        (cfg.adversarial_weight * adv + cfg.content_weight * content).backward()
        self.optG.step()
        update_average(self.E, self.G, cfg.ema_decay)
        agree = ((means > 0.5).float() == centre).float().mean().item()
        fractions = probs.mean(dim=(0, 2, 3, 4)).tolist()
        self.iteration += 1
        return {
            **stats,
            "adv": adv.item(),
            "content": content.item(),
            "agree": agree,
            "fractions": fractions,
        }

    # ---- checkpoints
    def save(self) -> Path:
        tensors = {}
        for prefix, module in [
            ("G", self.G),
            ("E", self.E),
            *[(f"D{i}", D) for i, D in enumerate(self.critics)],
        ]:
            for k, v in module.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.detach().clone().contiguous()
        groups = {"optG": checkpoints.pack_optimizer("optG", self.optG, tensors)}
        for i, opt in enumerate(self.optD):
            groups[f"optD{i}"] = checkpoints.pack_optimizer(f"optD{i}", opt, tensors)
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {
            "format": FORMAT, "iteration": self.iteration, "elapsed_s": self.elapsed,
            "model_config": self.mcfg.to_dict(), "train_config": dataclasses.asdict(self.cfg),
            "optimizer_groups": groups, "rng_numpy": self.rng.bit_generator.state,
            "data_changes": self.changes,
        }  # fmt: skip
        path = self.out / f"ckpt_{self.iteration:07d}.safetensors"
        checkpoints.atomic_write(path, st_save(tensors, metadata={"meta": json.dumps(meta)}))
        checkpoints.prune_checkpoints(self.out, keep_last=3, keep_every=1000)
        (self.out / "latest.json").write_text(
            json.dumps({k: meta[k] for k in ("iteration", "elapsed_s")}) + "\n"
        )
        return path

    def init_from(self, path: Path) -> None:
        """A new run's generator (and its average) and critics from another run's checkpoint:
        every generator tensor of the same shape; a transposed last upsampling (C_in, C_out,
        2, 2, 2) becomes the 1×1×1 map (C_out, C_in, 1, 1, 1) of its mean child."""
        tensors, meta = checkpoints.read_checkpoint(path, FORMAT)
        own = self.G.state_dict()
        given = {k[2:]: v for k, v in tensors.items() if k.startswith("E.")}
        for key, value in given.items():
            if key in own and own[key].shape == value.shape:
                own[key] = value
            elif key in own and value.dim() == 5 and own[key].dim() == 5:
                own[key] = value.mean(dim=(2, 3, 4)).t()[..., None, None, None]
        self.G.load_state_dict(own)
        self.E.load_state_dict(own)
        for i, D in enumerate(self.critics):
            D.load_state_dict(
                {k[len(f"D{i}") + 1 :]: v for k, v in tensors.items() if k.startswith(f"D{i}.")}
            )
        self.changes.append({"iteration": 0, "setting": "init_from", "from": None,
                             "to": f"{path.name} (iteration {meta['iteration']})"})  # fmt: skip

    def load(self, tensors: dict, meta: dict) -> None:
        for prefix, module in [
            ("G", self.G),
            ("E", self.E),
            *[(f"D{i}", D) for i, D in enumerate(self.critics)],
        ]:
            module.load_state_dict(
                {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
            )
        groups = meta["optimizer_groups"]
        checkpoints.unpack_optimizer("optG", self.optG, tensors, groups["optG"])
        for i, opt in enumerate(self.optD):
            checkpoints.unpack_optimizer(f"optD{i}", opt, tensors, groups[f"optD{i}"])
            for group in opt.param_groups:  # this run's setting, not the checkpoint's
                group["lr"] = self.cfg.lr_d
        torch.set_rng_state(tensors["rng.torch"])
        self.rng.bit_generator.state = meta["rng_numpy"]
        self.iteration, self.elapsed = meta["iteration"], meta["elapsed_s"]
        self.changes = list(meta.get("data_changes") or [])
        before, now = meta["train_config"], dataclasses.asdict(self.cfg)
        for key in sorted(now):
            if key not in ("max_iters",) and before.get(key) != now[key]:
                change = {
                    "iteration": self.iteration,
                    "setting": key,
                    "from": before.get(key),
                    "to": now[key],
                }
                self.changes.append(change)


def load_generator(path: Path) -> tuple[SuperResGenerator, dict]:
    """The averaged generator (``E``) of a checkpoint, in eval mode, and its metadata."""
    tensors, meta = checkpoints.read_checkpoint(path, FORMAT)
    G = SuperResGenerator(SuperResConfig(**meta["model_config"]))
    G.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("E.")})
    return G.eval(), meta


def _yes_no(text: str) -> bool:
    if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "yes", "1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", choices=sorted(PRESETS))
    parser.add_argument(
        "--out", type=Path, help="checkpoint folder (default models/<model>/checkpoints)"
    )
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument(
        "--last-upsample",
        choices=["transpose", "nearest"],
        help="the generator's last ×2 (a new run only; default: the preset's)",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        help="a checkpoint to start a new run from: "
        "its generator's layers of the same shape (a transposed last upsampling "
        "becomes its mean over the 8 children for `nearest`) and its critics",
    )
    for field in dataclasses.fields(TrainConfig):
        if field.name != "model":
            kind = _yes_no if isinstance(field.default, bool) else type(field.default)
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind)
    args = parser.parse_args(argv)
    mcfg, preset = PRESETS[args.model]
    if args.last_upsample:
        mcfg = SuperResConfig(**{**mcfg.to_dict(), "last_upsample": args.last_upsample})
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "model" and getattr(args, f.name) is not None
    }
    cfg = TrainConfig(model=args.model, **{**preset, **given})
    out = args.out or MODELS / args.model / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    log = checkpoints.setup_logging(out / "train.log", f"superres.{args.model}")
    run = Run(cfg, mcfg, out)
    found = None if args.no_resume else checkpoints.latest_checkpoint(out, FORMAT)
    if found and args.init_from is None:
        run.load(found[1], found[2])
        log(f"resumed from {found[0].name} at iteration {run.iteration}")
        for change in run.changes:
            if change["iteration"] == run.iteration:
                log(f"changed on resume: {change['setting']} {change['from']} → {change['to']}")
    if args.init_from is not None and not found:
        run.init_from(args.init_from)
        log(f"initialised from {args.init_from} (layers of the same shape, critics)")
    log(f"config {dataclasses.asdict(cfg)} model {mcfg.to_dict()}")
    stop = {"signal": None}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(signal=s))
    signal.signal(signal.SIGINT, lambda s, f: stop.update(signal=s))
    last_ckpt, sums, started = time.monotonic(), [], time.monotonic()
    while run.iteration < cfg.max_iters and stop["signal"] is None:
        t0 = time.monotonic()
        sums.append(run.step())
        run.elapsed += time.monotonic() - t0
        if run.iteration % cfg.log_every == 0:
            mean = {
                k: round(float(np.mean([s[k] for s in sums])), 4)
                for k in sums[0]
                if k != "fractions"
            }
            fr = np.mean([s["fractions"] for s in sums], axis=0).round(3).tolist()
            log(
                f"it {run.iteration} {mean} fractions {fr} {run.elapsed / max(run.iteration, 1):.2f}s/it"
            )
            sums = []
        if time.monotonic() - last_ckpt > 60 * cfg.ckpt_minutes:
            run.save()
            last_ckpt = time.monotonic()
    path = run.save()
    log(
        f"stopped at iteration {run.iteration} ({stop['signal'] or 'max_iters'}); {path.name}; {time.monotonic() - started:.0f}s this run"
    )
