"""Generator penalties of SliceGAN training on statistics of the generated volumes (torch).

Each compares a differentiable statistic of a batch of phase probabilities (B, P, X, Y, Z) with
what it should be: the axes' mutual S2 offsets or the image's S2 (`AnisotropyPenalty`), each
axis's interface density (`InterfacePenalty`) and each phase's fraction (`FractionPenalty`)
against the training image's; `SystematicPenalty` says how a running mean of the offsets
penalises the generator's systematic part alone.
"""

from __future__ import annotations

import torch

__all__ = [
    "AnisotropyPenalty",
    "FractionPenalty",
    "InterfacePenalty",
    "PhasePenalty",
    "SystematicPenalty",
    "axis_interface_density",
    "axis_offsets",
    "axis_two_point",
    "straight_through_labels",
    "two_point_anisotropy",
]


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
