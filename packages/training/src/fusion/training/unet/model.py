"""A small 2D U-Net that segments grayscale SEM images of NMC cathodes into pore / NMC / carbon-binder.

References
----------
1. O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for Biomedical Image
   Segmentation", MICCAI 2015, arXiv:1505.04597 (encoder-decoder with skip connections).
2. S. Ioffe and C. Szegedy, "Batch Normalization", ICML 2015, arXiv:1502.03167.
3. D. P. Finegan et al., ACS Energy Lett. 2022: U-Net-type networks segment battery-electrode
   micrographs more reliably than thresholding at phase boundaries (the motivation here).

This is an independent implementation. Shapes: B = batch, C = channels, (H, W) = image size, a
multiple of 2**depth (16 for the default depth 4). Padded 3x3 convolutions keep the size, so the output
(B, n_classes, H, W) aligns with the input pixel for pixel. Widths are narrower than the paper's so the
float32 ONNX file stays well under 15 MB (default 1.95 M parameters, about 7.8 MB).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Module):
    """(3x3 conv -> BatchNorm -> ReLU) twice; keeps H, W."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, c_out, H, W)


class Up(nn.Module):
    """2x transposed-conv upsampling, concatenation with the skip, then DoubleConv."""

    def __init__(self, c_in: int, c_skip: int, c_out: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv = DoubleConv(c_out + c_skip, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (B, c_out, 2h, 2w)
        return self.conv(torch.cat([x, skip], dim=1))  # (B, c_out, 2h, 2w)


@dataclass
class UNetConfig:
    in_channels: int = 1  # grayscale
    n_classes: int = 3  # 0 pore, 1 NMC, 2 carbon-binder
    base: int = 16  # channels at full resolution; doubled at every level
    depth: int = 4  # number of 2x downsamplings; H and W must be multiples of 2**depth

    @property
    def widths(self) -> list[int]:
        return [self.base * 2**i for i in range(self.depth + 1)]

    def to_dict(self) -> dict:
        return asdict(self)


class UNet(nn.Module):
    """(B, in_channels, H, W) float in [0, 1] -> (B, n_classes, H, W) logits."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.stem = DoubleConv(cfg.in_channels, w[0])
        self.down = nn.ModuleList(DoubleConv(w[i], w[i + 1]) for i in range(cfg.depth))
        self.up = nn.ModuleList(Up(w[i + 1], w[i], w[i]) for i in reversed(range(cfg.depth)))
        self.head = nn.Conv2d(w[0], cfg.n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = 2**self.cfg.depth
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"H and W must be multiples of {m}, got {tuple(x.shape[-2:])}")
        x = (x - 0.5) / 0.25  # intensities in [0, 1] -> roughly zero-mean
        skips = [self.stem(x)]  # (B, w0, H, W)
        for block in self.down:
            skips.append(block(F.max_pool2d(skips[-1], 2)))  # (B, w[i+1], H/2^(i+1), W/2^(i+1))
        x = skips.pop()  # bottleneck (B, w[depth], H/2^depth, W/2^depth)
        for block in self.up:
            x = block(x, skips.pop())
        return self.head(x)  # (B, n_classes, H, W)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pad_to_multiple(image: torch.Tensor, m: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) at the bottom/right to multiples of m; return it and the original (H, W)."""
    h, w = image.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph), mode="reflect")
    return image, (h, w)


@torch.no_grad()
def segment(model: UNet, image, batch_tile: int | None = None) -> torch.Tensor:
    """Labels (H, W) int64 of one (H, W) image in [0, 1] (any size; padded internally)."""
    model.eval()
    x = torch.as_tensor(image, dtype=torch.float32)[None, None]  # (1, 1, H, W)
    x, (h, w) = pad_to_multiple(x, 2**model.cfg.depth)
    return model(x)[0, :, :h, :w].argmax(0)
