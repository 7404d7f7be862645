"""Random crops of a one-hot training image, sampled on the fly for the critic (torch out)."""

from __future__ import annotations

import numpy as np
import torch

from fusion.training.slicegan.training_data import seen_fractions

__all__ = ["CropSampler"]


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
        """``n`` random crops, (n, P, size, size) float32."""
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
