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

For onnxruntime, `SuperResGenerator.runtime_forward` computes the same function with each
``ConvTranspose3d`` (kernel = stride = 2) recast as a 1×1×1 convolution to ``8·C`` channels (the
2³ sub-voxel phases) followed by a depth-to-space shuffle done as three one-axis moves
(`shuffle_3d`), and a nearest upsampling as that 1×1×1 map repeated for the 8 phases, then
the same shuffle: onnxruntime runs a ConvTranspose as a GEMM plus a col2im scatter and an 8-D
Transpose and a 5-D Resize slowly, while a 1×1 Conv with its ReLU fused is one GEMM. The export uses that form;
the training uses ``forward``; they agree to float rounding (tested).

Size bookkeeping (``m = n + 2`` coarse cells leave the trunk): each stage doubles and a valid
3³ convolution takes one voxel off each side, ``2m → 2m − 2``; after ``k`` stages the side is
``2^k·n + 2``, and the last stage crops one more voxel each side before its convolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "CONTEXT",
    "Critic",
    "SuperResConfig",
    "SuperResGenerator",
    "block_mean",
    "shuffle_3d",
]

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
    upsample: str = "transpose"
    """How the stages before the last double (as `last_upsample`)."""
    last_upsample: str = "transpose"
    """How the last stage doubles: ``transpose`` (kernel = stride = 2: each coarse cell makes
    its children through 8 learned maps) or ``nearest`` (a 1×1×1 convolution on the coarse
    grid, then each child a copy of its parent: no checkerboard of period 2 can come from
    it; Odena, Dumoulin, Olah, Distill 2016)."""

    def __post_init__(self) -> None:
        self.stage_widths = tuple(self.stage_widths)
        self.critic_widths = tuple(self.critic_widths)
        for kind in (self.upsample, self.last_upsample):
            if kind not in ("transpose", "nearest"):
                raise ValueError(f"an upsampling is transpose or nearest, got {kind!r}")
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
            if (config.last_upsample if last else config.upsample) == "nearest":
                ups.append(nn.Conv3d(previous, width, 1))
            else:
                ups.append(nn.ConvTranspose3d(previous, width, 2, stride=2))
            convs.append(nn.Conv3d(width, config.n_phases if last else width, 3))
            previous = width
        self.ups, self.convs = nn.ModuleList(ups), nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.trunk:
            x = F.relu(conv(x))
        for i, (up, conv) in enumerate(zip(self.ups, self.convs, strict=True)):
            x = F.relu(up(x))
            if isinstance(up, nn.Conv3d):  # nearest: the 1×1×1 map, then copies
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            if i == len(self.convs) - 1:
                return conv(x[:, :, 1:-1, 1:-1, 1:-1])
            x = F.relu(conv(x))
        raise AssertionError("unreachable")

    def runtime_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` with each upsampling as a 1×1×1 convolution and `shuffle_3d`."""
        for conv in self.trunk:
            x = F.relu(conv(x))
        for i, (up, conv) in enumerate(zip(self.ups, self.convs, strict=True)):
            if isinstance(up, nn.Conv3d):  # nearest: the 1×1×1 map for all 8 children
                c_out = up.weight.shape[0]
                weight = up.weight.repeat_interleave(8, dim=0)  # channel c·8 + phase
            else:  # ConvTranspose (C_in, C_out, 2, 2, 2) → Conv (C_out·8, C_in, 1, 1, 1)
                c_in, c_out = up.weight.shape[:2]
                weight = up.weight.reshape(c_in, c_out * 8).t().reshape(c_out * 8, c_in, 1, 1, 1)
            x = shuffle_3d(F.relu(F.conv3d(x, weight, up.bias.repeat_interleave(8))), c_out)
            if i == len(self.convs) - 1:
                return conv(x[:, :, 1:-1, 1:-1, 1:-1])
            x = F.relu(conv(x))
        raise AssertionError("unreachable")


def shuffle_3d(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Depth-to-space of (B, C·8, Z, Y, X), channel ``c·8 + 4·dz + 2·dy + dx``, to (B, C, 2Z,
    2Y, 2X): the phase of x moved next to X, then y's next to Y, then z's next to Z (three
    Transposes of five axes each, not one of eight)."""
    b, _, z, y, w = x.shape
    x = x.reshape(b * channels * 4, 2, z, y, w).permute(0, 2, 3, 4, 1)
    x = x.reshape(b * channels * 2, 2, z, y, 2 * w).permute(0, 2, 3, 1, 4)
    x = x.reshape(b * channels, 2, z, 2 * y, 2 * w).permute(0, 2, 1, 3, 4)
    return x.reshape(b, channels, 2 * z, 2 * y, 2 * w)


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
