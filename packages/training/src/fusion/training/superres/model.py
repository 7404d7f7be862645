"""The super-resolution generator and its 2D critic (torch).

The generator maps a low-resolution 3D phase volume, one channel of particle indicator
(1 = NMC, 0 = the unresolved rest) plus ``nz`` channels of noise on the same grid, to logits
of the three fine phases (pore, NMC, CBD) on a grid ``sf = 2^k`` times finer. After Dahari et
al. (Adv. Energy Mater. 2023, 2202407): a 3D generator, 2D critics on its slices, a voxel-wise
loss against the low-resolution input; this is an independent implementation.

Shaped for exact tiling: every convolution is *valid* (no padding) and every upsampling is a
``ConvTranspose3d`` with kernel = stride = 2 (each coarse cell makes its own 2³ children), so
no output voxel ever sees a padded value. An input of ``n + 2·CONTEXT`` cells per axis gives
exactly ``sf·n`` voxels, those of its central ``n`` cells: windows that overlap by
``2·CONTEXT`` cells tile a volume without seams, and the runtime pads the whole input by
``CONTEXT`` cells (edge values, noise drawn there too) so that its borders have context.

Size bookkeeping (``m = n + 2`` coarse cells leave the trunk): each stage doubles and a valid
3³ convolution takes one voxel off each side, ``2m → 2m − 2``; after ``k`` stages the side is
``2^k·n + 2``, and the last stage crops one more voxel each side before its convolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CONTEXT", "Critic", "SuperResConfig", "SuperResGenerator", "block_mean"]

CONTEXT = 4
"""Coarse cells of context per side that the generator consumes (3 trunk convs + 1 in the
stages)."""


@dataclass
class SuperResConfig:
    """Widths of the generator and the critic. ``stage_widths`` are the channels after each ×2
    upsampling; there are ``log2(scale)`` of them."""

    scale: int = 4
    nz: int = 8
    n_phases: int = 3
    trunk_width: int = 64
    stage_widths: tuple[int, ...] = (32, 16)
    critic_widths: tuple[int, ...] = (32, 64, 128)

    def __post_init__(self) -> None:
        self.stage_widths = tuple(self.stage_widths)
        self.critic_widths = tuple(self.critic_widths)
        if 2 ** len(self.stage_widths) != self.scale:
            raise ValueError(
                f"scale {self.scale} needs log2(scale) stage widths, got {self.stage_widths}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class SuperResGenerator(nn.Module):
    """(B, 1 + nz, n + 8, n + 8, n + 8) coarse cells → (B, 3, sf·n, sf·n, sf·n) logits."""

    def __init__(self, config: SuperResConfig) -> None:
        super().__init__()
        self.config = config
        w = config.trunk_width
        self.trunk = nn.ModuleList(
            [nn.Conv3d(1 + config.nz, w, 3), nn.Conv3d(w, w, 3), nn.Conv3d(w, w, 3)]
        )
        ups, convs, previous = [], [], w
        for i, width in enumerate(config.stage_widths):
            last = i == len(config.stage_widths) - 1
            ups.append(nn.ConvTranspose3d(previous, width, 2, stride=2))
            convs.append(nn.Conv3d(width, config.n_phases if last else width, 3))
            previous = width
        self.ups, self.convs = nn.ModuleList(ups), nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.trunk:
            x = F.relu(conv(x))
        for i, (up, conv) in enumerate(zip(self.ups, self.convs, strict=True)):
            x = F.relu(up(x))
            if i == len(self.convs) - 1:
                return conv(x[:, :, 1:-1, 1:-1, 1:-1])
            x = F.relu(conv(x))
        raise AssertionError("unreachable")


class Critic(nn.Module):
    """A 2D WGAN critic of (N, 3, a, b) phase slices, any size ≥ 16: strided convolutions, then
    the mean score over what is left."""

    def __init__(self, config: SuperResConfig) -> None:
        super().__init__()
        layers, previous = [], config.n_phases
        for width in config.critic_widths:
            layers += [nn.Conv2d(previous, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            previous = width
        layers.append(nn.Conv2d(previous, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).mean(dim=(1, 2, 3))


def block_mean(volume: torch.Tensor, scale: int) -> torch.Tensor:
    """Mean over ``scale³`` blocks of (B, C, Z, Y, X) → (B, C, Z/s, Y/s, X/s)."""
    return F.avg_pool3d(volume, scale)
