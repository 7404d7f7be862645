"""GAN machinery shared by the 2D-critic trainers (SliceGAN today): slices, WGAN-GP, averaging.

Runs in the training environment (torch). A 3D generator's volumes (B, P, X, Y, Z) are cut into
2D slices normal to an axis (`slices_along`, `random_slices`) for 2D critics; a critic step
minimises the WGAN-GP loss (`critic_step`, `gradient_penalty`; Gulrajani et al., NeurIPS 2017),
a generator step the critics' negated scores (`adversarial_loss`); `update_average` keeps the
exponential moving average of the generator (Karras et al., ICLR 2018; Yazıcı et al., ICLR 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "adversarial_loss",
    "critic_step",
    "gradient_penalty",
    "random_slices",
    "slices_along",
    "update_average",
]


def slices_along(
    volume: torch.Tensor, axis: int, index: torch.Tensor | None = None
) -> torch.Tensor:
    """Cut a volume batch (B, P, X, Y, Z) into 2D slices normal to spatial `axis` (0, 1 or 2).

    `index` picks which slice positions to keep (all if None). Returns (B * n_slices, P, a, b) where (a, b)
    are the two remaining spatial axes in their original order.
    """
    dim = axis + 2
    if index is not None:
        volume = volume.index_select(dim, index)  # (B, P, n, ., .) along dim
    moved = volume.movedim(dim, 1)  # (B, n, P, a, b)
    return moved.reshape(-1, *moved.shape[2:])  # (B * n, P, a, b)


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


def gradient_penalty(D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Mean (||grad_x D(x)|| - 1)^2 at random points between real and fake slices (N, P, 64, 64)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1)  # (N, 1, 1, 1)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)  # (N, P, 64, 64)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def critic_step(
    D: torch.nn.Module,
    optD: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    gp_lambda: float,
    gp_batch: int,
) -> tuple[float, float]:
    """One WGAN-GP update of critic ``D`` on real and generated slices (N, P, 64, 64).

    Returns
    -------
    tuple of float
        The Wasserstein estimate ``D(real) - D(fake)`` and the gradient penalty, both as
        measured before the update (the penalty on the first ``gp_batch`` pairs).
    """
    optD.zero_grad(set_to_none=True)
    d_real, d_fake = D(real).mean(), D(fake).mean()
    k = min(gp_batch, real.shape[0], fake.shape[0])
    gp = gradient_penalty(D, real[:k], fake[:k])
    (d_fake - d_real + gp_lambda * gp).backward()
    optD.step()
    return (d_real - d_fake).item(), gp.item()


def adversarial_loss(
    fake: torch.Tensor, critics: Sequence[torch.nn.Module], n: int, transpose: bool = False
) -> torch.Tensor:
    """The generator's WGAN loss on volumes (B, P, X, Y, Z): minus the mean score that
    ``critics[axis]`` gives ``n`` random slices normal to each axis (`random_slices`)."""
    return -sum(D(random_slices(fake, axis, n, transpose)).mean() for axis, D in enumerate(critics))


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
