"""Training pairs of the super-resolution models (numpy only).

- ``nmc-xct`` (×4): the real 3D NMC (0 pore, 1 NMC, 2 CBD) **below z = 64 only**; its low-res
  is the 4³-block majority of NMC (`block_majority`), so the model learns to undo exactly the
  coarsening it is judged on. Real slices for the critics are cut from that half, one critic
  per axis (the calendered electrode is anisotropic).
- ``nmc`` (×8): the real XCT (128 = particles) as low-res and the real SEM section (0 pore,
  1 NMC, 2 CBD) as the high-res texture, one critic for all three axes (one section says
  nothing of direction). The two disagree on how much is particle (39.8 % of the XCT, 58.3 %
  of the SEM); the critic's real crops are drawn with weights that bring their mean NMC
  fraction to the XCT's (`matched_crop_weights`), while the voxel-wise loss holds the
  particles where the XCT has them, so the pore/CBD texture is the SEM's and the particle
  volume is the XCT's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "NMC",
    "TrainingData",
    "block_majority",
    "block_targets",
    "matched_crop_weights",
    "nmc_pair",
    "nmc_xct_pair",
]

NMC = 1
"""Label of the particles in the fine phase maps (0 pore, 1 NMC, 2 CBD)."""
TEST_SEED = 0
"""The seed of the noise in the registered test tensors."""
TEST_CELLS = 4
"""Coarse cells of output per axis in the test tensors (input: 4 + 8 = 12)."""
XCT_TRAIN_Z = 64
"""The ×4 model trains on z < 64 of the real cube; z ≥ 64 is where it is judged."""


def block_majority(labels: np.ndarray, scale: int, label: int = NMC) -> np.ndarray:
    """1 where more than half of a ``scale³`` block is ``label``, else 0 (a tie is the rest):
    the low-res view of a fine phase map. Sizes must be multiples of ``scale``.

    >>> block = np.zeros((4, 4, 4), np.uint8); block[:2, :, :1] = 1; block[2:] = 1
    >>> block_majority(block, 4).tolist(), block_majority(block[:, :2, :2], 2).tolist()
    ([[[1]]], [[[0]], [[1]]])
    """
    if any(n % scale for n in labels.shape):
        raise ValueError(f"shape {labels.shape} is not a multiple of the scale {scale}")
    z, y, x = (n // scale for n in labels.shape)
    blocks = (labels == label).reshape(z, scale, y, scale, x, scale)
    return (blocks.sum(axis=(1, 3, 5)) * 2 > scale**3).astype(np.uint8)


@dataclass
class TrainingData:
    """What a run trains on: the low-res indicator volume, the real fine slices the critics
    see (per critic: a list of 2D label images to crop from), crop weights, and the scale."""

    lowres: np.ndarray  # (Z, Y, X) uint8, 1 = NMC
    reals: list[list[np.ndarray]]  # per critic, 2D label images (int64)
    weights: list[list[np.ndarray | None]]  # per critic and image: crop-origin weights or None
    scale: int
    crop: int  # fine edge of the generated training volumes and of the real crops
    block_targets: tuple[float, float] | None = None
    """Where the fine truth of the training input is known (×4): the mean NMC fraction of a
    block whose coarse label is the rest, and of one whose label is NMC (`block_targets`)."""

    def real_crops(self, critic: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` random crops (count, crop, crop) of critic ``critic``'s real images."""
        images, weights = self.reals[critic], self.weights[critic]
        out = np.empty((count, self.crop, self.crop), np.int64)
        for i in range(count):
            j = int(rng.integers(len(images)))
            image, w = images[j], weights[j]
            rows, cols = image.shape[0] - self.crop + 1, image.shape[1] - self.crop + 1
            flat = rng.choice(rows * cols, p=w) if w is not None else rng.integers(rows * cols)
            r, c = divmod(int(flat), cols)
            out[i] = image[r : r + self.crop, c : c + self.crop]
        return out


def nmc_xct_pair(path: Path, crop: int = 32) -> TrainingData:
    """The ×4 pair: z < 64 of the real cube and its 4³-block NMC majority."""
    import tifffile

    cube = tifffile.imread(path).astype(np.int64)
    fine = cube[:XCT_TRAIN_Z]
    reals = [
        [fine[i] for i in range(fine.shape[0])],
        [fine[:, i] for i in range(fine.shape[1])],
        [fine[:, :, i] for i in range(fine.shape[2])],
    ]
    lowres = block_majority(fine, 4)
    weights = [[None] * len(r) for r in reals]
    return TrainingData(lowres, reals, weights, 4, crop, block_targets(fine, lowres, 4))


def block_targets(fine: np.ndarray, lowres: np.ndarray, scale: int) -> tuple[float, float]:
    """(mean NMC fraction of the blocks labelled rest, of those labelled NMC): what a coarse
    label says of its block on average (on the real cube's training half 0.10 and 0.92, on
    the held-out half 0.10 and 0.91)."""
    z, y, x = lowres.shape
    shares = (fine == NMC).reshape(z, scale, y, scale, x, scale).mean(axis=(1, 3, 5))
    return float(shares[lowres == 0].mean()), float(shares[lowres == 1].mean())


def matched_crop_weights(image: np.ndarray, crop: int, target: float) -> np.ndarray:
    """Weights over the crop origins of ``image`` (2D labels) whose weighted mean NMC fraction
    is ``target``: exponential tilting ``w ∝ exp(β·f)`` of the crops' fractions ``f``, β found
    by bisection (the least-distorting reweighting, in the Kullback-Leibler sense)."""
    from scipy.ndimage import uniform_filter

    nmc = (image == NMC).astype(np.float64)
    means = uniform_filter(nmc, crop, mode="constant")
    h = crop // 2
    f = means[h - 0 : h + image.shape[0] - crop + 1, h : h + image.shape[1] - crop + 1]
    f = f.ravel()
    if not f.min() < target < f.max():
        raise ValueError(f"no reweighting of the crops gives NMC fraction {target:.3f}")
    lo, hi = -200.0, 200.0
    for _ in range(100):
        beta = (lo + hi) / 2
        w = np.exp(beta * (f - f.mean()))
        if (w * f).sum() / w.sum() > target:
            hi = beta
        else:
            lo = beta
    return w / w.sum()


def nmc_pair(lowres_path: Path, sem_path: Path, crop: int = 64) -> TrainingData:
    """The ×8 pair: the real XCT particles and the real SEM section, crops matched to the
    XCT's particle fraction."""
    import tifffile

    lowres = (tifffile.imread(lowres_path) == 128).astype(np.uint8)
    sem = np.squeeze(tifffile.imread(sem_path)).astype(np.int64)
    weights = matched_crop_weights(sem, crop, float(lowres.mean()))
    return TrainingData(
        lowres, [[sem, sem.T.copy()]], [[weights, _transposed(weights, sem.shape, crop)]], 8, crop
    )


def _transposed(weights: np.ndarray, shape: tuple[int, int], crop: int) -> np.ndarray:
    rows, cols = shape[0] - crop + 1, shape[1] - crop + 1
    return np.ascontiguousarray(weights.reshape(rows, cols).T).ravel()
