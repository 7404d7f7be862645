"""Train SliceGAN on segmented 2D images of an NMC cathode (pore / NMC / carbon-binder).

Usage (from the repository root):

    python models/slicegan-nmc/train.py                    # train, or continue from the latest checkpoint
    python models/slicegan-nmc/train.py --max-iters 20     # short run; Ctrl-C or SIGTERM saves and exits
    python models/slicegan-nmc/train.py --no-resume        # start again (old checkpoints move to previous-<time>/)
    python models/slicegan-nmc/train.py --help             # every setting, with its default
    # one slice of a 3D volume, or one slice per axis with one critic each (training_data.py):
    python models/slicegan-nmc/train.py --image vol.tif --image-stride 1 --slice-axis 2 --slice-index 64
    python models/slicegan-nmc/train.py --image vol.tif --image-stride 1 --anisotropic

The training data is one 2D image (default: the SEM image), or one slice of a 3D volume; both train
the isotropic form, with one critic. `--anisotropic` trains the anisotropic form: the slice normal to
each axis of a 3D volume is the real image for that axis, and each axis has its own critic.

An "iteration" is one generator step preceded by `critic_iters` critic iterations; a critic iteration
updates the critic once per slicing axis (x, y, z), as in the SliceGAN reference code: the shared
critic (isotropic) or that axis's critic (anisotropic).
To keep a CPU run affordable the critic sees `slices_per_axis` randomly chosen slices of each generated
64^3 volume per axis instead of all 64 (an unbiased subsample of the same loss).

The generator that is evaluated and exported is an exponential moving average of the trained one
(weights and BatchNorm statistics, decay `ema_decay` per generator step; Karras et al., ICLR 2018;
Yazıcı et al., ICLR 2019): WGAN generators oscillate from step to step, their average does not.

Checkpoints (`ckpt_<iter>.safetensors`, no pickle) hold generator, its average, the critic(s) ("D", or "D0",
"D1", "D2" per axis) and all Adam states, the RNG
states, the iteration count and, as JSON in the safetensors header, the model and training configs.
They are written atomically every `ckpt_minutes` and on exit; `latest.json` beside them is a readable
summary. Resuming (the default) restores everything, so a stopped run continues exactly where it was.
Settings that shape the model or the optimisation cannot be changed on resume; run-control settings
(max_iters, threads, ckpt_minutes, log_every, eval_every, keep_*) can, and so can the data settings
`crop_padding` and `transpose_crops` (each change is logged and kept in the checkpoints as
`data_changes`).

A new run may instead start from a released export (`--init-from <version>/slicegan-nmc.onnx`,
with the export.json beside it; warm_start.py): for when the checkpoints are gone. Its settings,
iteration count, time and data changes carry on; the trained and the averaged generator start
from the release's (averaged) weights; the critic and the optimiser states are new, and the critic
trains alone for `critic_warmup` rounds before the generator moves. Checkpoints record the warm
start (`warm_start`, with the release's own as `previous`), and so do export.json and the card.
A warm start may freeze BatchNorm (`--frozen-batchnorm`) and lower the learning rate (`--lr`) to
fine-tune the release; nothing else of its settings may change.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import functools
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
import torch
from safetensors.torch import save as st_save

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # models/: the shared _training
import _training
from _training import (
    atomic_write,
    list_checkpoints,
    pack_optimizer,
    prune_checkpoints,
    setup_logging,
    unpack_optimizer,
)
from model import (
    Critic,
    Generator,
    SliceGANConfig,
    count_parameters,
    freeze_batchnorm,
    generate_labels,
    slices_along,
    standing_statistics,
)
from training_data import (
    CENTRAL,
    expected_interface_density,
    expected_two_point,
    fusion_metrics,
    label_axis_offsets,
    label_two_point,
    seen_fractions,
    training_images,
)

HERE = Path(__file__).resolve().parent
FORMAT = "slicegan-nmc-checkpoint/1"


# --------------------------------------------------------------------------------------------------
# Defaults


@dataclass
class TrainConfig:
    # data: one-hot of a label image or volume with values {0, 1, 2} = pore, NMC, carbon-binder
    image: str = "/work/shared/data/micrographs/nmc_sem_2d_3phase_628x758.tif"
    # a 3D volume as `image`: train on its slice normal to slice_axis at slice_index (-1: central)
    slice_axis: int = 0
    slice_index: int = CENTRAL
    # a 3D volume as `image`: one slice normal to each axis (at slice_index), one critic per axis
    anisotropic: bool = False
    # keep every n-th pixel of the image along both axes (SliceGAN's scale factor): the NMC particles
    # (mean chord ~80 px) then fit inside the critic's 64-px window; one voxel = n image pixels
    image_stride: int = 2
    # pad the image by its mirror image by this many px before drawing crops: crops drawn at
    # uniform positions see the edge pixels least, which on the SEM image shows the critic an NMC
    # fraction of 0.520 instead of the image's 0.583; half the crop size makes the coverage flat
    # (training_data.crop_coverage). Checkpoints from before this setting used 0.
    crop_padding: int = 32
    # isotropic form only (ignored in the anisotropic one): transpose each real crop with
    # probability 1/2. The critic judges slices along all three axes against one image, so the
    # image's two axes must be interchangeable; the SEM image's are not (its interface densities
    # differ by 13-18 % between them), and without this the volume's axes take sides: the one
    # seen twice as crop rows matches the image's rows, the one seen twice as columns its columns
    transpose_crops: bool = True
    # isotropic form only: transpose each generated slice with probability 1/2, as the real crops
    # are. Slices come out as (rows, columns) in the order model.slices_along gives, so without
    # it the critic sees volume axis 0 only as rows, axis 2 only as columns and axis 1 as both,
    # and may hold the axes to different standards; with it every axis is seen both ways alike.
    # Checkpoints from before this setting ran without it. May be switched on when resuming
    transpose_fakes: bool = False
    # BatchNorm normalises by fixed running statistics in training as well (model.freeze_batchnorm):
    # the exported eval-mode generator is then the trained function itself. May be switched on
    # when warm-starting from a release (frozen at its standing statistics), not on resume
    frozen_batchnorm: bool = False
    # isotropic form only: weight of a generator penalty on the differences between the three axes'
    # two-point correlations (two_point_anisotropy, shifts 1..anisotropy_shifts), 0 = off. The
    # critic sees volume axis 0 only as slice rows, axis 2 only as columns and axis 1 as both
    # (model.slices_along), so nothing in the adversarial loss holds axis 1 to the other two:
    # 0.3.0's NMC S2 is too long along it (0.026 RMS at 512^3, 0.014 along the others), and the
    # iso ground-truth model makes it its dense, tortuous axis. May be switched on when resuming
    anisotropy_weight: float = 0.0
    anisotropy_shifts: int = 31
    # 0: penalise each batch's own offsets (squared), most of which is the batch's spread; > 0:
    # penalise the generator's systematic offsets only, estimated by a running mean of the
    # batches' offsets with this decay per step (AnisotropyPenalty)
    anisotropy_average: float = 0.0
    # what the penalty holds each axis's S2 to: "axes", the three axes' mean (an isotropy penalty,
    # blind to what the axes share), or "image", the training image's S2 as the critic sees it
    # (its two axes' mean, which transpose_crops requires): a descriptor loss on each axis, which
    # also holds the interface density (S2 at r = 1) and the fractions. May be changed on resume
    s2_reference: str = "axes"
    # weight of a generator penalty on each axis's interface density relative to the one the
    # critics' real images show (InterfacePenalty; running mean with anisotropy_average's decay),
    # 0 = off. Continuations of 0.3.0 drift NMC's interfaces 10-20 % too dense, and an S2 penalty
    # weighs them at one shift in 31. May be switched on when resuming
    interface_weight: float = 0.0
    # weight of a generator penalty on each phase's volume fraction against the image's
    # (FractionPenalty; running mean with anisotropy_average's decay), 0 = off. May be switched
    # on when resuming
    fraction_weight: float = 0.0
    # model (see model.SliceGANConfig); widths end with the phase count / with 1
    nz: int = 16
    gen_widths: tuple[int, ...] = (256, 128, 64, 32, 3)
    critic_widths: tuple[int, ...] = (32, 64, 128, 256, 1)
    # WGAN-GP optimisation (SliceGAN v1.1 settings, batches shrunk for a CPU)
    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    gp_lambda: float = 10.0
    ema_decay: float = 0.995  # per generator step: the averaged generator spans ~200 steps
    critic_iters: int = 5  # critic iterations per generator step
    real_batch: int = 32  # real 64x64 crops per axis per critic update
    fake_volumes: int = 2  # generated 64^3 volumes per critic iteration
    gen_volumes: int = 2  # generated 64^3 volumes per generator step
    slices_per_axis: int = 16  # random slices taken from each volume along each axis
    gp_batch: int = 16  # real/fake pairs for the gradient penalty per critic update
    # run control
    max_iters: int = 20000  # generator steps; the run is meant to be stopped and resumed at will
    seed: int = 1337
    threads: int = 1  # torch CPU threads; another job uses the other core
    out_dir: str = str(HERE / "checkpoints")
    resume: bool = True
    ckpt_minutes: float = 5.0
    keep_last: int = 3  # most recent checkpoints kept
    keep_every: int = 1000  # also keep every checkpoint whose iteration is a multiple of this
    log_every: int = 10  # iterations between loss lines
    eval_every: int = 100  # iterations between volume-fraction and interface checks
    eval_latent: int = 6  # latent edge of the eval volume (6 -> 128^3)
    # a new run may start from a released export (<version>/slicegan-nmc.onnx with its export.json)
    # instead of random weights: its settings, iteration count and time carry on (warm_start.py)
    init_from: str = ""
    # a warm start's new critic first trains alone for this many rounds of critic_iters iterations
    critic_warmup: int = 200


# settings that checkpoints written before they existed had at another value than today's default
LEGACY_DEFAULTS = {"crop_padding": 0, "transpose_crops": False, "transpose_fakes": False}
# data settings (and the isotropy penalty, which adds to what the generator is trained against)
# that may be changed when resuming; each change is logged and kept in the checkpoint
# (progress["data_changes"]) so that a model's card can say at which iteration its data changed
DATA_CHANGEABLE = {
    "crop_padding",
    "transpose_crops",
    "transpose_fakes",
    "anisotropy_weight",
    "anisotropy_shifts",
    "anisotropy_average",
    "s2_reference",
    "interface_weight",
    "fraction_weight",
}
# settings that may differ from the release's when a run is warm-started from it
# (a lower learning rate fine-tunes a release rather than training it on at full speed)
WARM_START_CHANGEABLE = {"frozen_batchnorm", "lr"}
# settings that may differ between a checkpoint and the command line when resuming
RUN_CONTROL = {
    "max_iters",
    "threads",
    "out_dir",
    "resume",
    "ckpt_minutes",
    "keep_last",
    "keep_every",
    "log_every",
    "eval_every",
    "eval_latent",
    "image",
    "init_from",
    "critic_warmup",
}


def parse_args(argv: list[str] | None) -> dict:
    """Return only the settings given on the command line (argparse.SUPPRESS hides the rest)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"default: {f.default}",
            )
        elif f.type.startswith("tuple"):
            parser.add_argument(
                flag, type=int, nargs="+", default=argparse.SUPPRESS, help=f"default: {f.default}"
            )
        else:
            kind = {"int": int, "float": float, "str": str}[f.type]
            parser.add_argument(
                flag, type=kind, default=argparse.SUPPRESS, help=f"default: {f.default}"
            )
    given = vars(parser.parse_args(argv))
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def model_config(cfg: TrainConfig) -> SliceGANConfig:
    return SliceGANConfig(nz=cfg.nz, gen_widths=cfg.gen_widths, critic_widths=cfg.critic_widths)


# --------------------------------------------------------------------------------------------------
# Data: random crops of the one-hot training image, sampled on the fly (no pre-built crop set in RAM)


class CropSampler:
    """Random ``size``-px crops of a one-hot label image, drawn at uniform positions of the image
    padded by ``padding`` px with its mirror image (``padding = size // 2`` shows every pixel
    equally often; see training_data.crop_coverage); with ``transpose`` each crop is transposed
    with probability 1/2."""

    def __init__(
        self,
        labels: np.ndarray,
        n_phases: int,
        size: int,
        rng: np.random.Generator,
        padding: int = 0,
        transpose: bool = False,
    ):
        if min(labels.shape) + 2 * padding < size:  # labels: (H, W) in 0..n_phases-1
            raise ValueError(
                f"training image {labels.shape} padded by {padding} is smaller than the {size}-px crops"
            )
        onehot = np.stack([labels == p for p in range(n_phases)]).astype(np.float32)  # (P, H, W)
        self.fractions = onehot.mean(axis=(1, 2))  # (P,) the image's own
        self.seen = seen_fractions(labels, n_phases, size, padding)  # (P,) what the critic sees
        pad = ((0, 0), (padding, padding), (padding, padding))
        self.onehot = np.pad(onehot, pad, mode="symmetric")  # (P, H + 2p, W + 2p)
        self.shape = labels.shape
        self.size, self.rng, self.transpose = size, rng, transpose

    def sample(self, n: int) -> torch.Tensor:
        _, h, w = self.onehot.shape
        ys = self.rng.integers(0, h - self.size + 1, n)
        xs = self.rng.integers(0, w - self.size + 1, n)
        crops = np.stack(
            [
                self.onehot[:, y : y + self.size, x : x + self.size]
                for y, x in zip(ys, xs, strict=True)
            ]
        )  # (n, P, 64, 64)
        if self.transpose:
            flip = self.rng.random(n) < 0.5
            crops[flip] = crops[flip].transpose(0, 1, 3, 2)
        return torch.from_numpy(crops)


# --------------------------------------------------------------------------------------------------
# Checkpoints: safetensors (tensors) + JSON in its header (everything else), written atomically


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


read_checkpoint = functools.partial(_training.read_checkpoint, fmt=FORMAT)
latest_checkpoint = functools.partial(_training.latest_checkpoint, fmt=FORMAT)


# --------------------------------------------------------------------------------------------------
# Losses


def gradient_penalty(D: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Mean (||grad_x D(x)|| - 1)^2 at random points between real and fake slices (N, P, 64, 64)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1)  # (N, 1, 1, 1)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)  # (N, P, 64, 64)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def axis_two_point(volumes: torch.Tensor, max_shift: int) -> torch.Tensor:
    """(3, P, R): S2(r) of each phase along each spatial axis for r = 1 .. max_shift, averaged
    over a batch of phase probabilities (B, P, X, Y, Z); differentiable (soft labels)."""
    per_axis = []
    for dim in (2, 3, 4):
        n = volumes.shape[dim]
        shifts = [
            (volumes.narrow(dim, 0, n - r) * volumes.narrow(dim, r, n - r)).mean(dim=(0, 2, 3, 4))
            for r in range(1, max_shift + 1)
        ]  # R x (P,)
        per_axis.append(torch.stack(shifts, dim=-1))  # (P, R)
    return torch.stack(per_axis)


def axis_offsets(volumes: torch.Tensor, max_shift: int) -> torch.Tensor:
    """(3, P, R): each axis's S2 (`axis_two_point`) minus the three axes' mean. The volume
    fraction is the same along all three axes, so its fluctuation between batches cancels."""
    s2 = axis_two_point(volumes, max_shift)
    return s2 - s2.mean(dim=0)


def two_point_anisotropy(volumes: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Mean squared `axis_offsets`: zero for a batch whose statistics are alike along every
    axis, as a volume generated from one isotropic 2D image should be."""
    return (axis_offsets(volumes, max_shift) ** 2).mean()


S2_REFERENCES = ("axes", "image")


class SystematicPenalty:
    """A generator penalty, ``weight`` × mean(offset²) of a statistic's offsets from what it
    should be (`offsets`, per subclass).

    With ``decay`` 0 the offsets are the batch's own: a 2-volume batch of 64³ differs by chance
    several times more than the generator does on average, so most of that gradient asks each
    batch to be typical. With ``decay`` > 0 the offsets' expectation E[o] is estimated by a
    running mean ``average`` of the batches' offsets (decay per step, held in the checkpoints);
    the loss 2·mean(average · o_batch) then has the gradient of mean(E[o]²), the systematic
    offset alone, and what is logged is mean(average²). The running mean starts at zero, so the
    penalty grows in over ~1/(1 − decay) steps: started from its first batch instead, a fraction
    penalty took one batch's NMC fraction 0.20 below the image's (a 2-volume batch of 64³ has an
    sd of 0.13) as systematic and drove NMC to 0.98 within 20 steps.
    """

    name = ""  # of its running mean in the checkpoints, "<name>.average"
    label = ""  # in the log

    @property
    def offsets_length(self) -> int:
        """The last axis of `offsets` (a checkpoint's running mean of another length restarts)."""
        raise NotImplementedError

    def __init__(self, weight: float, decay: float):
        self.weight, self.decay = weight, decay
        self.average: torch.Tensor | None = None

    def offsets(self, volumes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __str__(self) -> str:
        kind = f"running mean, decay {self.decay:g}" if self.decay else "per batch"
        return f"x weight {self.weight:g}, {kind}"

    def __call__(self, volumes: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(the loss to add, weighted; the penalty to log, unweighted) for a generated batch."""
        offsets = self.offsets(volumes)
        if self.decay == 0:
            penalty = (offsets**2).mean()
            return self.weight * penalty, penalty.item()
        if self.average is None:  # from zero: no single batch is taken for the systematic part
            self.average = torch.zeros_like(offsets.detach())
        estimate = self.average  # of the steps before this one: independent of this batch
        self.average = self.decay * estimate + (1 - self.decay) * offsets.detach()
        loss = 2 * (estimate * offsets).mean()
        return self.weight * loss, (estimate**2).mean().item()


class AnisotropyPenalty(SystematicPenalty):
    """The generator's isotropy penalty on the axis offsets (3, P, R): each axis's S2 minus the
    three axes' mean (`axis_offsets`) or, given a ``reference`` (3, P, R), minus that (the
    training image's S2: a descriptor loss rather than an isotropy penalty)."""

    name, label = "anisotropy", "S2 penalty"

    def __init__(
        self, weight: float, shifts: int, decay: float, reference: torch.Tensor | None = None
    ):
        super().__init__(weight, decay)
        if reference is not None and reference.shape[-1] != shifts:
            raise ValueError(f"reference S2 has {reference.shape[-1]} shifts, the penalty {shifts}")
        self.shifts, self.reference = shifts, reference

    def __str__(self) -> str:
        against = "the image's S2" if self.reference is not None else "the axes' mean"
        return f"{super().__str__()}, against {against}"

    @property
    def offsets_length(self) -> int:
        return self.shifts

    def offsets(self, volumes: torch.Tensor) -> torch.Tensor:
        if self.reference is None:
            return axis_offsets(volumes, self.shifts)
        return axis_two_point(volumes, self.shifts) - self.reference


def straight_through_labels(volumes: torch.Tensor) -> torch.Tensor:
    """The one-hot argmax labels of phase probabilities (B, P, X, Y, Z), with the gradient of the
    probabilities themselves (straight-through)."""
    hard = torch.nn.functional.one_hot(volumes.argmax(1), volumes.shape[1]).movedim(-1, 1)
    return hard.to(volumes) + volumes - volumes.detach()


def axis_interface_density(volumes: torch.Tensor) -> torch.Tensor:
    """(3, P): each phase's interface density along each axis of a batch of phase probabilities
    (B, P, X, Y, Z): the share of neighbouring pairs with one voxel in the phase and the other
    not, `fusion.models.metrics.interface_density`, on the argmax labels, whose gradient goes
    to the probabilities as if they were those labels (straight-through). The same sum on the
    probabilities themselves reads 2-5 % higher than on their labels (on 0.3.0), at the voxels a
    boundary passes between, and would hold the labels that much below the image's."""
    labels = straight_through_labels(volumes)
    per_axis = []
    for dim in (2, 3, 4):
        n = labels.shape[dim]
        a, b = labels.narrow(dim, 0, n - 1), labels.narrow(dim, 1, n - 1)
        per_axis.append((a + b - 2 * a * b).mean(dim=(0, 2, 3, 4)))  # (P,)
    return torch.stack(per_axis)


class PhasePenalty(SystematicPenalty):
    """A penalty on a per-phase statistic of the generated labels against the image's
    ``reference`` (..., P); `offsets` per subclass, `how` says how in the log."""

    how = ""

    def __init__(self, weight: float, decay: float, reference: torch.Tensor):
        super().__init__(weight, decay)
        self.reference = reference

    def __str__(self) -> str:
        return f"{super().__str__()}, {self.how} the image's"

    @property
    def offsets_length(self) -> int:
        return self.reference.shape[-1]  # the phases


class FractionPenalty(PhasePenalty):
    """Each phase's volume fraction of the generated labels (straight-through) minus the
    training image's (P,). The S2 penalty does not hold it: over r = 1-31 (62 image px) NMC's S2
    has not decayed to the fraction squared, and a curve matched there by longer correlations at
    a lower fraction left 0.566 against the image's 0.583 (128 seeds of 256³)."""

    name, label, how = "fraction", "fraction penalty", "against"

    def offsets(self, volumes: torch.Tensor) -> torch.Tensor:
        return straight_through_labels(volumes).mean(dim=(0, 2, 3, 4)) - self.reference


class InterfacePenalty(PhasePenalty):
    """Each axis's interface density (`axis_interface_density`) relative to the ``reference``
    (3, P) the critics' real images show (`training_data.expected_interface_density`), minus 1:
    the card's specific-surface-area error, which an S2 curve weighs at one shift in 31."""

    name, label, how = "interface", "interface penalty", "relative to"

    def offsets(self, volumes: torch.Tensor) -> torch.Tensor:
        return axis_interface_density(volumes) / self.reference - 1


def label_anisotropy(labels: np.ndarray, n_phases: int, max_shift: int) -> np.ndarray:
    """(3, P): RMS over r = 1 .. max_shift of each axis's S2 minus the three axes' mean, for a
    generated label volume (the eval's measure of what `two_point_anisotropy` penalises)."""
    return rms_over_shifts(label_axis_offsets(labels, n_phases, max_shift))


def rms_over_shifts(difference: np.ndarray) -> np.ndarray:
    """RMS over the last axis (the shifts r) of S2 curves' differences."""
    return np.sqrt((difference**2).mean(axis=-1))


def fmt(values) -> str:
    return "[" + ", ".join(f"{float(v):.4f}" for v in values) + "]"


@torch.no_grad()
def update_average(average: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """average ← decay·average + (1 − decay)·model, for parameters and floating-point buffers
    (BatchNorm running statistics); integer buffers (batch counts) are copied."""
    for a, m in zip(average.parameters(), model.parameters(), strict=True):
        a.lerp_(m, 1.0 - decay)
    for a, m in zip(average.buffers(), model.buffers(), strict=True):
        if a.is_floating_point():
            a.lerp_(m, 1.0 - decay)
        else:
            a.copy_(m)


def random_slices(
    volumes: torch.Tensor, axis: int, n: int, transpose: bool = False
) -> torch.Tensor:
    """``n`` random slices of each volume normal to ``axis``, (B * n, P, 64, 64); with
    ``transpose`` each is transposed with probability 1/2 (differentiably)."""
    index = torch.randperm(volumes.shape[axis + 2])[:n]
    slices = slices_along(volumes, axis, index)
    if not transpose:
        return slices
    flip = torch.rand(slices.shape[0]) < 0.5
    return torch.where(flip[:, None, None, None], slices.transpose(-1, -2), slices)


# --------------------------------------------------------------------------------------------------
# Main


def continued_config(
    saved_config: dict, given: dict, source: str
) -> tuple[TrainConfig, dict[str, tuple]]:
    """The settings of a run continued from ``source`` (a checkpoint or an export) whose
    ``saved_config`` was recorded there: the saved settings win; the command line (``given``)
    may change run control and the data settings, and refusing anything else. Returns the
    config and the data settings changed, ``{name: (saved, now)}``. A warm start from a
    release (``source == "release"``) may also change `WARM_START_CHANGEABLE`."""
    free = RUN_CONTROL | DATA_CHANGEABLE | (WARM_START_CHANGEABLE if source == "release" else set())
    saved = dataclasses.asdict(TrainConfig())  # settings added since it was written: defaults
    saved |= LEGACY_DEFAULTS
    saved |= {k: tuple(v) if isinstance(v, list) else v for k, v in saved_config.items()}
    clash = {k: (saved[k], v) for k, v in given.items() if k not in free and saved.get(k) != v}
    if clash:
        hint = "; use --no-resume" if source == "checkpoint" else ""
        sys.exit(
            f"cannot change {clash} ({source}, command line) when continuing from {source}{hint}"
        )
    changed = {k: (saved[k], v) for k, v in given.items() if k in DATA_CHANGEABLE and saved[k] != v}
    merged = saved | {k: v for k, v in given.items() if k in free}
    return TrainConfig(**{k: merged[k] for k in TrainConfig.__dataclass_fields__}), changed


def note_data_changes(progress: dict, changed: dict[str, tuple], log) -> None:
    """Log data settings changed where a run continues and keep them in ``data_changes``."""
    if changed:
        progress["data_changes"].append(
            {"iteration": progress["iteration"]} | {k: list(v) for k, v in changed.items()}
        )
        log(f"data settings changed at iteration {progress['iteration']}: {changed} (was, now)")


def interface_errors(labels: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """(3, P): relative error of each phase's interface density along each axis of a generated
    volume against ``expected`` (`training_data.expected_interface_density`)."""
    density = fusion_metrics().interface_density
    measured = np.array(
        [[density(labels, p, axis) for p in range(expected.shape[1])] for axis in range(3)]
    )
    return measured / expected - 1.0


def main(argv: list[str] | None = None) -> None:
    given = parse_args(argv)
    cfg = TrainConfig(**given)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found = latest_checkpoint(out) if cfg.resume else None
    changed = {}  # data settings changed on resume: {name: (checkpoint's, now)}
    release = None  # the export.json of a warm start's release
    if not cfg.resume and list_checkpoints(
        out
    ):  # set old checkpoints aside so they are never resumed
        old = out / time.strftime("previous-%Y%m%d-%H%M%S")
        old.mkdir()
        for path in [p for _, p in list_checkpoints(out)] + [out / "latest.json"]:
            if path.exists():
                path.rename(old / path.name)
    if found is not None:  # the checkpoint's settings win; only run control may be changed
        _, _, meta = found
        cfg, changed = continued_config(meta["train_config"], given, "checkpoint")
    elif cfg.init_from:  # a warm start: the release's settings win in the same way
        import warm_start  # needs onnx, which training from scratch does not

        release = warm_start.read_export_record(Path(cfg.init_from))
        cfg, changed = continued_config(release["train_config"], given, "release")

    if cfg.anisotropic and cfg.anisotropy_weight:
        sys.exit(
            "--anisotropy-weight is for the isotropic form: the anisotropic form's axes are "
            "meant to differ (each has its own real image and critic)"
        )
    if cfg.s2_reference not in S2_REFERENCES:
        sys.exit(
            f"--s2-reference must be one of {', '.join(S2_REFERENCES)}, got {cfg.s2_reference!r}"
        )
    if cfg.s2_reference == "image" and not cfg.transpose_crops:
        sys.exit(
            "--s2-reference image holds every axis to the mean of the image's two axes, which is "
            "what the critic sees only with --transpose-crops"
        )
    torch.set_num_threads(cfg.threads)
    with contextlib.suppress(RuntimeError):  # already set in this process
        torch.set_num_interop_threads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mcfg = model_config(cfg)
    images = training_images(
        cfg.image,
        mcfg.n_phases,
        stride=cfg.image_stride,
        slice_axis=cfg.slice_axis,
        slice_index=cfg.slice_index,
        anisotropic=cfg.anisotropic,
    )  # [one (H, W) image] or [one per axis]
    samplers = [
        CropSampler(
            image,
            mcfg.n_phases,
            mcfg.slice_size,
            rng,
            padding=cfg.crop_padding,
            transpose=cfg.transpose_crops and not cfg.anisotropic,
        )
        for image in images
    ]
    fractions = np.mean([s.fractions for s in samplers], axis=0)  # (P,)
    # (3, P): each phase's interfaces per volume axis as the critics' real images show them
    interfaces = expected_interface_density(
        images, mcfg.n_phases, transposed=cfg.transpose_crops and not cfg.anisotropic
    )

    # a warm start's generator is read back from its release; resuming loads weights below
    G = (
        Generator(mcfg)
        if release is None
        else warm_start.generator_from_export(Path(cfg.init_from), mcfg)
    )
    critics = [Critic(mcfg) for _ in samplers]
    optG = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    critic_opts = [
        torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)) for D in critics
    ]
    # per axis: the real images, the critic and its optimiser (shared, or that axis's own)
    n = len(critics)
    per_axis = [(samplers[a % n], critics[a % n], critic_opts[a % n]) for a in range(3)]
    progress = {
        "iteration": 0,
        "critic_iterations": 0,
        "elapsed_s": 0.0,
        "last_eval": None,
        "data_changes": [],
        "warm_start": None,  # the release a warm-started run began from
        "warmup_left": 0,  # critic-only rounds still to run before generator steps resume
    }

    log = setup_logging(out / "train.log", "slicegan-nmc")
    # (3, P, R): each phase's S2 per volume axis as the critics' real images show it
    image_s2 = expected_two_point(
        images,
        mcfg.n_phases,
        cfg.anisotropy_shifts,
        transposed=cfg.transpose_crops and not cfg.anisotropic,
    )
    # the penalty's reference, when it holds the axes to the image's S2
    reference = torch.from_numpy(image_s2).float() if cfg.s2_reference == "image" else None
    penalties = [
        AnisotropyPenalty(
            cfg.anisotropy_weight, cfg.anisotropy_shifts, cfg.anisotropy_average, reference
        ),
        InterfacePenalty(
            cfg.interface_weight,
            cfg.anisotropy_average,
            torch.from_numpy(interfaces).float(),
        ),
        FractionPenalty(
            cfg.fraction_weight, cfg.anisotropy_average, torch.from_numpy(fractions).float()
        ),
    ]
    penalties = [p for p in penalties if p.weight]  # those switched on

    if found is not None:
        path, tensors, meta = found
        G.load_state_dict(prefixed(tensors, "G"))
        unpack_optimizer("optG", optG, tensors, meta["optG_param_groups"])
        for name, D, optD in zip(critic_names(len(critics)), critics, critic_opts, strict=True):
            D.load_state_dict(prefixed(tensors, name))
            unpack_optimizer(f"opt{name}", optD, tensors, meta[f"opt{name}_param_groups"])
        torch.set_rng_state(tensors["rng.torch"])
        for penalty in penalties:
            average = tensors.get(f"{penalty.name}.average")
            if cfg.anisotropy_average and average is not None:
                # offsets from another reference or of another length: the mean starts again
                restart = "s2_reference" in changed and penalty.name == "anisotropy"
                if not restart and average.shape[-1] == penalty.offsets_length:
                    penalty.average = average.clone()
        rng.bit_generator.state = meta["numpy_rng"]
        progress = {k: meta.get(k, v) for k, v in progress.items()}
        average = prefixed(tensors, "E")
        G_ema = copy.deepcopy(G)  # a checkpoint from before averaging starts the average here
        if average:
            G_ema.load_state_dict(average)
        log(
            f"resumed from {path.name} at iteration {progress['iteration']}"
            + ("" if average else "; generator average starts from its weights")
        )
        note_data_changes(progress, changed, log)
    elif release is not None:
        source = Path(cfg.init_from)
        G_ema = copy.deepcopy(G)
        progress |= {
            "iteration": release["iteration"],
            "elapsed_s": release.get("elapsed_s") or 0.0,
            "data_changes": list(release.get("data_changes", [])),
            "warm_start": {
                "iteration": release["iteration"],
                "from": str(source),
                "sha256": _training.sha256(source),
                "critic_warmup": cfg.critic_warmup,
                "frozen_batchnorm": cfg.frozen_batchnorm,
                "lr_before": release["train_config"].get("lr", cfg.lr),
                "lr": cfg.lr,
                "previous": release.get("warm_start"),  # the release's own warm start, if any
            },
            "warmup_left": cfg.critic_warmup,
        }
        log(
            f"warm start from {source} (iteration {release['iteration']}, the averaged generator; "
            f"new critic and optimiser states): the critic trains alone for {cfg.critic_warmup} "
            f"rounds of {cfg.critic_iters} iterations first"
            + (
                f"; Adam lr {cfg.lr} (the release trained at {progress['warm_start']['lr_before']})"
                if cfg.lr != progress["warm_start"]["lr_before"]
                else ""
            )
        )
        note_data_changes(progress, changed, log)
    else:
        G_ema = copy.deepcopy(G)
        log(
            f"new run: G {count_parameters(G):,} params, "
            f"{len(critics)} x D {count_parameters(critics[0]):,} params, "
            f"config {json.dumps(dataclasses.asdict(cfg))}"
        )
    if cfg.frozen_batchnorm:  # at the running statistics they have now (a release's: standing)
        for generator in (G, G_ema):
            freeze_batchnorm(generator)
        log("BatchNorm frozen: trained with its running statistics, exported as trained")
    transpose_fakes = cfg.transpose_fakes and not cfg.anisotropic
    for axis, sampler in enumerate(samplers):
        what = f"slice normal to axis {axis}" if cfg.anisotropic else "training-image"
        log(
            f"{what} fractions pore/NMC/CBD = {fmt(sampler.fractions)}, seen by the critic "
            f"{fmt(sampler.seen)} (crop padding {cfg.crop_padding}, transposed crops "
            f"{'on' if sampler.transpose else 'off'}), "
            f"{sampler.shape[0]}x{sampler.shape[1]} px, transposed generated slices "
            f"{'on' if transpose_fakes else 'off'}, "
            f"threads {cfg.threads}"
        )

    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    lz, nz = mcfg.train_latent, mcfg.nz
    session_start, session_iter0 = time.time(), progress["iteration"]
    elapsed0, last_ckpt = progress["elapsed_s"], time.time()
    sums = {"w_dist": 0.0, "gp": 0.0, "g_loss": 0.0, "n_d": 0, "n_g": 0}
    sums |= {p.name: 0.0 for p in penalties}

    def checkpoint() -> None:
        nonlocal last_ckpt
        progress["elapsed_s"] = elapsed0 + time.time() - session_start
        save_checkpoint(
            out, cfg, mcfg, G, G_ema, critics, optG, critic_opts, rng, progress, penalties
        )
        last_ckpt = time.time()

    G.train()
    while progress["iteration"] < cfg.max_iters and stop["signal"] is None:
        if time.time() - last_ckpt > 60 * cfg.ckpt_minutes:  # every round, warm-up included
            checkpoint()
        # --- critic: critic_iters iterations, one update per slicing axis each
        for D in critics:
            D.requires_grad_(True)
        for _ in range(cfg.critic_iters):
            with torch.no_grad():
                fake = G(torch.randn(cfg.fake_volumes, nz, lz, lz, lz))  # (Bf, P, 64, 64, 64)
            for axis, (data, D, optD) in enumerate(per_axis):
                real = data.sample(cfg.real_batch)  # (Nr, P, 64, 64)
                fake_slices = random_slices(fake, axis, cfg.slices_per_axis, transpose_fakes)
                optD.zero_grad(set_to_none=True)
                d_real, d_fake = D(real).mean(), D(fake_slices).mean()
                k = min(cfg.gp_batch, real.shape[0], fake_slices.shape[0])
                gp = gradient_penalty(D, real[:k], fake_slices[:k])
                (d_fake - d_real + cfg.gp_lambda * gp).backward()
                optD.step()
                sums["w_dist"] += (d_real - d_fake).item()
                sums["gp"] += gp.item()
                sums["n_d"] += 1
            progress["critic_iterations"] += 1

        if progress["warmup_left"] > 0:  # a warm start's new critic learns before G moves
            progress["warmup_left"] -= 1
            if progress["warmup_left"] % cfg.log_every == 0:
                log(
                    f"critic warm-up: {progress['warmup_left']} rounds left, critic_iter "
                    f"{progress['critic_iterations']} W {sums['w_dist'] / sums['n_d']:.4f} "
                    f"gp {sums['gp'] / sums['n_d']:.4f}"
                )
                sums = dict.fromkeys(sums, 0.0)
            continue

        # --- generator: fool the critic(s) along all three axes
        for D in critics:
            D.requires_grad_(False)
        optG.zero_grad(set_to_none=True)
        fake = G(torch.randn(cfg.gen_volumes, nz, lz, lz, lz))  # (Bg, P, 64, 64, 64)
        g_loss = -sum(
            D(random_slices(fake, axis, cfg.slices_per_axis, transpose_fakes)).mean()
            for axis, (_, D, _) in enumerate(per_axis)
        )
        loss = g_loss
        for penalty in penalties:
            added, logged = penalty(fake)
            loss = loss + added
            sums[penalty.name] += logged
        loss.backward()
        optG.step()
        update_average(G_ema, G, cfg.ema_decay)
        sums["g_loss"] += g_loss.item()
        sums["n_g"] += 1
        progress["iteration"] += 1
        it = progress["iteration"]

        if it % cfg.log_every == 0:
            wall = elapsed0 + time.time() - session_start
            rate = (it - session_iter0) / (time.time() - session_start)
            train_vf = (
                fake.detach().mean(dim=(0, 2, 3, 4)).numpy()
            )  # soft fractions of the last batch
            log(
                f"iter {it} critic_iter {progress['critic_iterations']} wall {wall:.0f}s {rate:.3f} it/s "
                f"W {sums['w_dist'] / sums['n_d']:.4f} gp {sums['gp'] / sums['n_d']:.4f} "
                f"g_loss {sums['g_loss'] / sums['n_g']:.4f} vf_train {fmt(train_vf)}"
                + "".join(f" {p.label} {sums[p.name] / sums['n_g']:.2e} ({p})" for p in penalties)
            )
            sums = dict.fromkeys(sums, 0.0)
        if it % cfg.eval_every == 0:
            # as export.py exports it: the average with BatchNorm statistics for its own weights
            evaluated = copy.deepcopy(G_ema)
            if not cfg.frozen_batchnorm:
                evaluated = standing_statistics(evaluated)
            labels = generate_labels(evaluated, cfg.eval_latent, seed=cfg.seed).numpy()  # (X, Y, Z)
            vf = np.bincount(labels.ravel(), minlength=mcfg.n_phases) / labels.size
            err = np.abs(vf - fractions)
            surface_error = interface_errors(labels, interfaces)  # (3, P)
            curves = label_two_point(labels, mcfg.n_phases, cfg.anisotropy_shifts)  # (3, P, R)
            anisotropy = rms_over_shifts(curves - curves.mean(axis=0))  # (3, P)
            s2_error = rms_over_shifts(curves - image_s2)  # (3, P): against the image
            progress["last_eval"] = {
                "iteration": it,
                "volume_fractions": [round(float(v), 4) for v in vf],
                "abs_error": [round(float(v), 4) for v in err],
                "surface_rel_error": [[round(float(v), 4) for v in row] for row in surface_error],
                "s2_anisotropy_rms": [[round(float(v), 4) for v in row] for row in anisotropy],
                "s2_image_rms": [[round(float(v), 4) for v in row] for row in s2_error],
                "edge": list(labels.shape),
            }
            tifffile.imwrite(out / "sample_latest.tif", labels)
            log(
                f"eval iter {it} {labels.shape[0]}^3 vf pore/NMC/CBD {fmt(vf)} "
                f"(image {fmt(fractions)}) max_abs_err {err.max():.4f}; surface rel. error "
                f"per phase, worst axis {fmt(np.abs(surface_error).max(axis=0))} "
                f"(axis {'/'.join(str(a) for a in np.abs(surface_error).argmax(axis=0))}); "
                f"S2 off the axes' mean, RMS per phase, worst axis {fmt(anisotropy.max(axis=0))} "
                f"(axis {'/'.join(str(a) for a in anisotropy.argmax(axis=0))}); "
                f"S2 against the image, RMS per axis z/y/x: NMC {fmt(s2_error[:, 1])}"
            )

    checkpoint()
    reason = (
        f"signal {stop['signal']}" if stop["signal"] is not None else f"max_iters {cfg.max_iters}"
    )
    log(
        f"stopped ({reason}) at iteration {progress['iteration']}, wall {progress['elapsed_s']:.0f}s; checkpoint saved"
    )


if __name__ == "__main__":
    main()
