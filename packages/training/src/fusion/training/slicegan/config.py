"""The settings of a SliceGAN training run: `TrainConfig`, its command line, and which settings
may change where a run continues (from a checkpoint or a released export). No torch.

Every field of `TrainConfig` is a flag of ``models/slicegan-nmc/train.py`` (``--image-stride``
for ``image_stride``, ``--no-resume`` for ``resume=False``) with the field's default.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

from fusion.training._paths import MODELS
from fusion.training.slicegan.training_data import CENTRAL

__all__ = [
    "DATA_CHANGEABLE",
    "LEGACY_DEFAULTS",
    "RUN_CONTROL",
    "S2_REFERENCES",
    "WARM_START_CHANGEABLE",
    "TrainConfig",
    "check_config",
    "continued_config",
    "note_data_changes",
    "parse_args",
]

HERE = MODELS / "slicegan-nmc"
S2_REFERENCES = ("axes", "image")


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


def parse_args(argv: list[str] | None, description: str | None = None) -> dict:
    """Return only the settings given on the command line (argparse.SUPPRESS hides the rest).

    Parameters
    ----------
    argv : list of str or None
        The arguments (None: ``sys.argv[1:]``).
    description : str, optional
        The ``--help`` text above the flags (the training script's docstring).
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
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


def check_config(cfg: TrainConfig) -> None:
    """Exit with a message where settings contradict each other."""
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


def note_data_changes(progress: dict, changed: dict[str, tuple], log) -> None:
    """Log data settings changed where a run continues and keep them in ``data_changes``."""
    if changed:
        progress["data_changes"].append(
            {"iteration": progress["iteration"]} | {k: list(v) for k, v in changed.items()}
        )
        log(f"data settings changed at iteration {progress['iteration']}: {changed} (was, now)")
