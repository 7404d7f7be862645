"""The SliceGAN training loop: set up a run from its settings, resume or warm-start it, train.

`main` is what ``models/slicegan-nmc/train.py`` runs (its docstring says what a run does and
how it resumes). The loop is split into a critic round (`_critic_round`), a generator step
(`_generator_step`), the log line and the eval (`_log_losses`, `_evaluate`), all on one `_Run`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
import torch

from fusion.training.checkpoints import list_checkpoints, setup_logging, unpack_optimizer
from fusion.training.export import sha256
from fusion.training.gan import adversarial_loss, critic_step, random_slices, update_average
from fusion.training.slicegan.checkpoints import (
    critic_names,
    latest_checkpoint,
    prefixed,
    save_checkpoint,
)
from fusion.training.slicegan.config import (
    TrainConfig,
    check_config,
    continued_config,
    note_data_changes,
    parse_args,
)
from fusion.training.slicegan.crops import CropSampler
from fusion.training.slicegan.measures import fmt, interface_errors, rms_over_shifts
from fusion.training.slicegan.model import (
    Critic,
    Generator,
    SliceGANConfig,
    count_parameters,
    freeze_batchnorm,
    generate_labels,
    standing_statistics,
)
from fusion.training.slicegan.penalties import (
    AnisotropyPenalty,
    FractionPenalty,
    InterfacePenalty,
    SystematicPenalty,
)
from fusion.training.slicegan.training_data import (
    expected_interface_density,
    expected_two_point,
    label_two_point,
    training_images,
)

__all__ = ["main", "model_config"]


def model_config(cfg: TrainConfig) -> SliceGANConfig:
    """The network settings of a training config."""
    return SliceGANConfig(nz=cfg.nz, gen_widths=cfg.gen_widths, critic_widths=cfg.critic_widths)


@dataclass
class _Run:
    """Everything one training run holds: settings, data, networks, optimisers and progress."""

    cfg: TrainConfig
    mcfg: SliceGANConfig
    out: Path
    rng: np.random.Generator
    samplers: list[CropSampler]
    fractions: np.ndarray  # (P,) the training images' phase fractions
    interfaces: np.ndarray  # (3, P) interface densities per volume axis the critics see
    image_s2: np.ndarray  # (3, P, R) S2 per volume axis the critics see
    G: Generator
    critics: list[Critic]
    optG: torch.optim.Optimizer
    critic_opts: list[torch.optim.Optimizer]
    penalties: list[SystematicPenalty]
    log: Callable[[str], None]
    G_ema: Generator | None = None
    progress: dict = field(default_factory=dict)

    @property
    def per_axis(self) -> list[tuple[CropSampler, Critic, torch.optim.Optimizer]]:
        """Per axis: the real images, the critic and its optimiser (shared, or that axis's own)."""
        n = len(self.critics)
        return [
            (self.samplers[a % n], self.critics[a % n], self.critic_opts[a % n]) for a in range(3)
        ]

    @property
    def transpose_fakes(self) -> bool:
        return self.cfg.transpose_fakes and not self.cfg.anisotropic

    def checkpoint(self) -> Path:
        return save_checkpoint(
            self.out, self.cfg, self.mcfg, self.G, self.G_ema, self.critics, self.optG,
            self.critic_opts, self.rng, self.progress, self.penalties,
        )  # fmt: skip


def _settings(given: dict) -> tuple[TrainConfig, tuple | None, dict, dict | None]:
    """The run's config, the checkpoint it resumes (or None), the data settings changed and the
    export record of a warm start's release (or None); sets aside old checkpoints on --no-resume."""
    cfg = TrainConfig(**given)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found = latest_checkpoint(out) if cfg.resume else None
    changed = {}  # data settings changed on resume: {name: (checkpoint's, now)}
    release = None  # the export.json of a warm start's release
    if not cfg.resume and list_checkpoints(out):  # set old checkpoints aside: never resumed
        old = out / time.strftime("previous-%Y%m%d-%H%M%S")
        old.mkdir()
        for path in [p for _, p in list_checkpoints(out)] + [out / "latest.json"]:
            if path.exists():
                path.rename(old / path.name)
    if found is not None:  # the checkpoint's settings win; only run control may be changed
        _, _, meta = found
        cfg, changed = continued_config(meta["train_config"], given, "checkpoint")
    elif cfg.init_from:  # a warm start: the release's settings win in the same way
        from fusion.training.slicegan import warm_start  # needs onnx: not for a new run

        release = warm_start.read_export_record(Path(cfg.init_from))
        cfg, changed = continued_config(release["train_config"], given, "release")
    check_config(cfg)
    return cfg, found, changed, release


def _data(cfg: TrainConfig, mcfg: SliceGANConfig, rng: np.random.Generator) -> tuple:
    """The training images, their crop samplers, and the fractions, interface densities and S2
    curves the critics' real images show."""
    images = training_images(
        cfg.image,
        mcfg.n_phases,
        stride=cfg.image_stride,
        slice_axis=cfg.slice_axis,
        slice_index=cfg.slice_index,
        anisotropic=cfg.anisotropic,
    )  # [one (H, W) image] or [one per axis]
    transposed = cfg.transpose_crops and not cfg.anisotropic
    samplers = [
        CropSampler(
            image, mcfg.n_phases, mcfg.slice_size, rng, padding=cfg.crop_padding,
            transpose=transposed,
        )
        for image in images
    ]  # fmt: skip
    fractions = np.mean([s.fractions for s in samplers], axis=0)  # (P,)
    # (3, P): each phase's interfaces per volume axis as the critics' real images show them
    interfaces = expected_interface_density(images, mcfg.n_phases, transposed=transposed)
    return images, samplers, fractions, interfaces


def _penalties(
    cfg: TrainConfig, fractions: np.ndarray, interfaces: np.ndarray, image_s2: np.ndarray
) -> list[SystematicPenalty]:
    """The generator penalties switched on (non-zero weight)."""
    # the penalty's reference, when it holds the axes to the image's S2
    reference = torch.from_numpy(image_s2).float() if cfg.s2_reference == "image" else None
    penalties = [
        AnisotropyPenalty(
            cfg.anisotropy_weight, cfg.anisotropy_shifts, cfg.anisotropy_average, reference
        ),
        InterfacePenalty(
            cfg.interface_weight, cfg.anisotropy_average, torch.from_numpy(interfaces).float()
        ),
        FractionPenalty(
            cfg.fraction_weight, cfg.anisotropy_average, torch.from_numpy(fractions).float()
        ),
    ]
    return [p for p in penalties if p.weight]


def _build(cfg: TrainConfig, release: dict | None) -> _Run:
    """Seed, read the data, make the networks, optimisers, log and penalties of a run."""
    torch.set_num_threads(cfg.threads)
    with contextlib.suppress(RuntimeError):  # already set in this process
        torch.set_num_interop_threads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mcfg = model_config(cfg)
    images, samplers, fractions, interfaces = _data(cfg, mcfg, rng)
    if release is None:
        G = Generator(mcfg)
    else:  # a warm start's generator is read back from its release
        from fusion.training.slicegan import warm_start

        G = warm_start.generator_from_export(Path(cfg.init_from), mcfg)
    critics = [Critic(mcfg) for _ in samplers]
    betas = (cfg.beta1, cfg.beta2)
    optG = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas)
    critic_opts = [torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas) for D in critics]
    out = Path(cfg.out_dir)
    log = setup_logging(out / "train.log", "slicegan-nmc")
    # (3, P, R): each phase's S2 per volume axis as the critics' real images show it
    image_s2 = expected_two_point(
        images,
        mcfg.n_phases,
        cfg.anisotropy_shifts,
        transposed=cfg.transpose_crops and not cfg.anisotropic,
    )
    penalties = _penalties(cfg, fractions, interfaces, image_s2)
    progress = {
        "iteration": 0,
        "critic_iterations": 0,
        "elapsed_s": 0.0,
        "last_eval": None,
        "data_changes": [],
        "warm_start": None,  # the release a warm-started run began from
        "warmup_left": 0,  # critic-only rounds still to run before generator steps resume
    }
    return _Run(
        cfg, mcfg, out, rng, samplers, fractions, interfaces, image_s2, G, critics, optG,
        critic_opts, penalties, log, progress=progress,
    )  # fmt: skip


def _resume(run: _Run, found: tuple, changed: dict) -> None:
    """Restore networks, optimisers, RNGs, penalty averages and progress from a checkpoint."""
    path, tensors, meta = found
    run.G.load_state_dict(prefixed(tensors, "G"))
    unpack_optimizer("optG", run.optG, tensors, meta["optG_param_groups"])
    names = critic_names(len(run.critics))
    for name, D, optD in zip(names, run.critics, run.critic_opts, strict=True):
        D.load_state_dict(prefixed(tensors, name))
        unpack_optimizer(f"opt{name}", optD, tensors, meta[f"opt{name}_param_groups"])
    torch.set_rng_state(tensors["rng.torch"])
    for penalty in run.penalties:
        average = tensors.get(f"{penalty.name}.average")
        if run.cfg.anisotropy_average and average is not None:
            # offsets from another reference or of another length: the mean starts again
            restart = "s2_reference" in changed and penalty.name == "anisotropy"
            if not restart and average.shape[-1] == penalty.offsets_length:
                penalty.average = average.clone()
    run.rng.bit_generator.state = meta["numpy_rng"]
    run.progress = {k: meta.get(k, v) for k, v in run.progress.items()}
    average = prefixed(tensors, "E")
    run.G_ema = copy.deepcopy(run.G)  # a checkpoint from before averaging starts it here
    if average:
        run.G_ema.load_state_dict(average)
    run.log(
        f"resumed from {path.name} at iteration {run.progress['iteration']}"
        + ("" if average else "; generator average starts from its weights")
    )
    note_data_changes(run.progress, changed, run.log)


def _warm_start(run: _Run, release: dict, changed: dict) -> None:
    """Carry a release's iteration count, time and data changes on; record the warm start."""
    cfg, source = run.cfg, Path(run.cfg.init_from)
    run.G_ema = copy.deepcopy(run.G)
    lr_before = release["train_config"].get("lr", cfg.lr)
    run.progress |= {
        "iteration": release["iteration"],
        "elapsed_s": release.get("elapsed_s") or 0.0,
        "data_changes": list(release.get("data_changes", [])),
        "warm_start": {
            "iteration": release["iteration"],
            "from": str(source),
            "sha256": sha256(source),
            "critic_warmup": cfg.critic_warmup,
            "frozen_batchnorm": cfg.frozen_batchnorm,
            "lr_before": lr_before,
            "lr": cfg.lr,
            "previous": release.get("warm_start"),  # the release's own warm start, if any
        },
        "warmup_left": cfg.critic_warmup,
    }
    run.log(
        f"warm start from {source} (iteration {release['iteration']}, the averaged generator; "
        f"new critic and optimiser states): the critic trains alone for {cfg.critic_warmup} "
        f"rounds of {cfg.critic_iters} iterations first"
        + (
            f"; Adam lr {cfg.lr} (the release trained at {lr_before})"
            if cfg.lr != lr_before
            else ""
        )
    )
    note_data_changes(run.progress, changed, run.log)


def _describe(run: _Run) -> None:
    """Log the training images' fractions, what the critic sees of them, and the settings."""
    cfg = run.cfg
    for axis, sampler in enumerate(run.samplers):
        what = f"slice normal to axis {axis}" if cfg.anisotropic else "training-image"
        run.log(
            f"{what} fractions pore/NMC/CBD = {fmt(sampler.fractions)}, seen by the critic "
            f"{fmt(sampler.seen)} (crop padding {cfg.crop_padding}, transposed crops "
            f"{'on' if sampler.transpose else 'off'}), "
            f"{sampler.shape[0]}x{sampler.shape[1]} px, transposed generated slices "
            f"{'on' if run.transpose_fakes else 'off'}, "
            f"threads {cfg.threads}"
        )


def _start(run: _Run, found: tuple | None, changed: dict, release: dict | None) -> None:
    """Resume, warm-start or begin the run; freeze BatchNorm where asked; log the data."""
    if found is not None:
        _resume(run, found, changed)
    elif release is not None:
        _warm_start(run, release, changed)
    else:
        run.G_ema = copy.deepcopy(run.G)
        run.log(
            f"new run: G {count_parameters(run.G):,} params, "
            f"{len(run.critics)} x D {count_parameters(run.critics[0]):,} params, "
            f"config {json.dumps(dataclasses.asdict(run.cfg))}"
        )
    if run.cfg.frozen_batchnorm:  # at the running statistics they have now (a release's: standing)
        for generator in (run.G, run.G_ema):
            freeze_batchnorm(generator)
        run.log("BatchNorm frozen: trained with its running statistics, exported as trained")
    _describe(run)


def _critic_round(run: _Run, sums: dict) -> None:
    """``critic_iters`` critic iterations, each one update per slicing axis."""
    cfg, lz, nz = run.cfg, run.mcfg.train_latent, run.mcfg.nz
    for D in run.critics:
        D.requires_grad_(True)
    for _ in range(cfg.critic_iters):
        with torch.no_grad():
            fake = run.G(torch.randn(cfg.fake_volumes, nz, lz, lz, lz))  # (Bf, P, 64, 64, 64)
        for axis, (data, D, optD) in enumerate(run.per_axis):
            real = data.sample(cfg.real_batch)  # (Nr, P, 64, 64)
            fake_slices = random_slices(fake, axis, cfg.slices_per_axis, run.transpose_fakes)
            w_dist, gp = critic_step(
                D, optD, real, fake_slices, gp_lambda=cfg.gp_lambda, gp_batch=cfg.gp_batch
            )
            sums["w_dist"] += w_dist
            sums["gp"] += gp
            sums["n_d"] += 1
        run.progress["critic_iterations"] += 1


def _warmup_logged(run: _Run, sums: dict) -> bool:
    """Count down a warm start's critic-only rounds; True while one ran (no generator step)."""
    progress = run.progress
    if progress["warmup_left"] <= 0:
        return False
    progress["warmup_left"] -= 1
    if progress["warmup_left"] % run.cfg.log_every == 0:
        run.log(
            f"critic warm-up: {progress['warmup_left']} rounds left, critic_iter "
            f"{progress['critic_iterations']} W {sums['w_dist'] / sums['n_d']:.4f} "
            f"gp {sums['gp'] / sums['n_d']:.4f}"
        )
        sums.update(dict.fromkeys(sums, 0.0))
    return True


def _generator_step(run: _Run, sums: dict) -> torch.Tensor:
    """One generator step against the critic(s) along all three axes, plus the penalties, and
    the update of its average; returns the generated batch (Bg, P, 64, 64, 64)."""
    cfg, lz, nz = run.cfg, run.mcfg.train_latent, run.mcfg.nz
    for D in run.critics:
        D.requires_grad_(False)
    run.optG.zero_grad(set_to_none=True)
    fake = run.G(torch.randn(cfg.gen_volumes, nz, lz, lz, lz))  # (Bg, P, 64, 64, 64)
    critics = [D for _, D, _ in run.per_axis]
    g_loss = adversarial_loss(fake, critics, cfg.slices_per_axis, run.transpose_fakes)
    loss = g_loss
    for penalty in run.penalties:
        added, logged = penalty(fake)
        loss = loss + added
        sums[penalty.name] += logged
    loss.backward()
    run.optG.step()
    update_average(run.G_ema, run.G, cfg.ema_decay)
    sums["g_loss"] += g_loss.item()
    sums["n_g"] += 1
    run.progress["iteration"] += 1
    return fake


def _log_losses(run: _Run, sums: dict, fake: torch.Tensor, wall: float, rate: float) -> None:
    """The loss line: means since the last one, and the soft fractions of the last batch."""
    progress = run.progress
    train_vf = fake.detach().mean(dim=(0, 2, 3, 4)).numpy()  # soft fractions of the last batch
    run.log(
        f"iter {progress['iteration']} critic_iter {progress['critic_iterations']} wall "
        f"{wall:.0f}s {rate:.3f} it/s "
        f"W {sums['w_dist'] / sums['n_d']:.4f} gp {sums['gp'] / sums['n_d']:.4f} "
        f"g_loss {sums['g_loss'] / sums['n_g']:.4f} vf_train {fmt(train_vf)}"
        + "".join(f" {p.label} {sums[p.name] / sums['n_g']:.2e} ({p})" for p in run.penalties)
    )
    sums.update(dict.fromkeys(sums, 0.0))


def _evaluate(run: _Run) -> None:
    """Generate the eval volume as export.py exports it (the average with BatchNorm statistics
    for its own weights), record its statistics against the critics' images, and log them."""
    cfg, it = run.cfg, run.progress["iteration"]
    evaluated = copy.deepcopy(run.G_ema)
    if not cfg.frozen_batchnorm:
        evaluated = standing_statistics(evaluated)
    labels = generate_labels(evaluated, cfg.eval_latent, seed=cfg.seed).numpy()  # (X, Y, Z)
    vf = np.bincount(labels.ravel(), minlength=run.mcfg.n_phases) / labels.size
    err = np.abs(vf - run.fractions)
    surface_error = interface_errors(labels, run.interfaces)  # (3, P)
    curves = label_two_point(labels, run.mcfg.n_phases, cfg.anisotropy_shifts)  # (3, P, R)
    anisotropy = rms_over_shifts(curves - curves.mean(axis=0))  # (3, P)
    s2_error = rms_over_shifts(curves - run.image_s2)  # (3, P): against the image
    run.progress["last_eval"] = {
        "iteration": it,
        "volume_fractions": [round(float(v), 4) for v in vf],
        "abs_error": [round(float(v), 4) for v in err],
        "surface_rel_error": [[round(float(v), 4) for v in row] for row in surface_error],
        "s2_anisotropy_rms": [[round(float(v), 4) for v in row] for row in anisotropy],
        "s2_image_rms": [[round(float(v), 4) for v in row] for row in s2_error],
        "edge": list(labels.shape),
    }
    tifffile.imwrite(run.out / "sample_latest.tif", labels)
    run.log(
        f"eval iter {it} {labels.shape[0]}^3 vf pore/NMC/CBD {fmt(vf)} "
        f"(image {fmt(run.fractions)}) max_abs_err {err.max():.4f}; surface rel. error "
        f"per phase, worst axis {fmt(np.abs(surface_error).max(axis=0))} "
        f"(axis {'/'.join(str(a) for a in np.abs(surface_error).argmax(axis=0))}); "
        f"S2 off the axes' mean, RMS per phase, worst axis {fmt(anisotropy.max(axis=0))} "
        f"(axis {'/'.join(str(a) for a in anisotropy.argmax(axis=0))}); "
        f"S2 against the image, RMS per axis z/y/x: NMC {fmt(s2_error[:, 1])}"
    )


def _loop(run: _Run) -> int | None:
    """Train until ``max_iters`` or SIGTERM/SIGINT, checkpointing every ``ckpt_minutes`` and
    at the end; return the signal that stopped it (None: ``max_iters``)."""
    cfg, progress = run.cfg, run.progress
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    session_start, session_iter0 = time.time(), progress["iteration"]
    elapsed0, last_ckpt = progress["elapsed_s"], time.time()
    sums = {"w_dist": 0.0, "gp": 0.0, "g_loss": 0.0, "n_d": 0, "n_g": 0}
    sums |= {p.name: 0.0 for p in run.penalties}

    def checkpoint() -> None:
        nonlocal last_ckpt
        progress["elapsed_s"] = elapsed0 + time.time() - session_start
        run.checkpoint()
        last_ckpt = time.time()

    run.G.train()
    while progress["iteration"] < cfg.max_iters and stop["signal"] is None:
        if time.time() - last_ckpt > 60 * cfg.ckpt_minutes:  # every round, warm-up included
            checkpoint()
        _critic_round(run, sums)
        if _warmup_logged(run, sums):  # a warm start's new critic learns before G moves
            continue
        fake = _generator_step(run, sums)
        it = progress["iteration"]
        if it % cfg.log_every == 0:
            wall = elapsed0 + time.time() - session_start
            rate = (it - session_iter0) / (time.time() - session_start)
            _log_losses(run, sums, fake, wall, rate)
        if it % cfg.eval_every == 0:
            _evaluate(run)
    checkpoint()
    return stop["signal"]


def main(argv: list[str] | None = None, description: str | None = None) -> None:
    """Train SliceGAN with the settings on the command line (`config.parse_args`).

    Parameters
    ----------
    argv : list of str or None
        The flags (None: ``sys.argv[1:]``).
    description : str, optional
        The ``--help`` text (the training script's docstring).
    """
    cfg, found, changed, release = _settings(parse_args(argv, description))
    run = _build(cfg, release)
    _start(run, found, changed, release)
    signum = _loop(run)
    reason = f"signal {signum}" if signum is not None else f"max_iters {cfg.max_iters}"
    run.log(
        f"stopped ({reason}) at iteration {run.progress['iteration']}, wall "
        f"{run.progress['elapsed_s']:.0f}s; checkpoint saved"
    )
