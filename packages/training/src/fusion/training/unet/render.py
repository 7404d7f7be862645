"""Render SEM-like grayscale images from segmented NMC micrographs, and the train / held-out split.

We have no labelled grayscale SEM of NMC cathodes, so the U-Net is trained on images *rendered* from
real segmentations: every pixel keeps its true label and gets a grey value from a simple, documented
model of a secondary-electron (SE / InLens) image of a FIB-polished cross-section. Steps, in order
(each draws from its own seeded generator, so switching one step off leaves the others unchanged):

1. **Phase intensities.** Pore dark, carbon-binder (CBD) intermediate and textured, NMC bright:
   pore ~ N(pore_mean, pore_sd) plus a smooth "shine-through" texture; CBD ~ N(cbd_mean, cbd_sd) plus
   correlated texture (its nano-porosity); NMC ~ N(nmc_mean, nmc_sd) plus one offset per connected
   particle (grain / channelling contrast).
2. **Edge brightening.** SE yield rises where the beam meets an edge: solid pixels within a few pixels
   of a pore get + edge_gain * exp(-d / edge_width) (d = distance to the pore in px); NMC pixels next
   to CBD get half of that.
3. **FIB curtaining.** Vertical stripes from uneven milling: sparse streaks (Gaussian profile across x,
   width ~ curtain_width px, signed amplitude ~ curtain_amp) that run down from the top edge to a
   random depth, plus a weak per-column offset.
4. **Probe blur.** Gaussian blur, sigma = probe_sigma px (the probe / interaction volume).
5. **Slow shading.** Multiplicative low-order field (a bicubic-upsampled 3x3 random grid), peak
   relative amplitude shading_amp (detector geometry, charging).
6. **Shot noise.** Poisson counts at `dose` electrons per pixel for intensity 1, plus Gaussian read
   noise (read_noise, in intensity units); the result is clipped to [0, 1], float32.

Documented order of phase means (before noise): pore < CBD < NMC. Ranges for randomised training
(`RANGES`) keep the three mean ranges disjoint, so this order always holds.

Label convention everywhere: 0 = pore, 1 = NMC, 2 = carbon-binder (see `LABEL_MAPS`).

Only numpy and scipy are needed (Pillow only to read the one PNG), so the project environment runs it.

>>> img = render_sem(np.zeros((32, 32), np.uint8), seed=0)
>>> img.dtype, img.shape, bool(0.0 <= img.min() and img.max() <= 1.0)
(dtype('float32'), (32, 32), True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

PORE, NMC, CBD = 0, 1, 2
PHASES = ("pore", "NMC", "CBD")

# --------------------------------------------------------------------------------------------------
# Rendering parameters: defaults describe a typical FIB-SEM InLens image; RANGES drive randomisation


@dataclass(frozen=True)
class RenderParams:
    """Parameters of `render_sem`. Intensities are in [0, 1]; lengths in pixels; dose in e-/pixel."""

    pore_mean: float = 0.10
    pore_sd: float = 0.025
    pore_texture: float = 0.03  # amplitude of smooth pore "shine-through" (sigma 4 px)
    nmc_mean: float = 0.78
    nmc_sd: float = 0.03
    nmc_grain_sd: float = 0.04  # sd of one offset per connected NMC particle
    cbd_mean: float = 0.42
    cbd_sd: float = 0.05
    cbd_texture: float = 0.10  # amplitude of correlated CBD texture
    cbd_texture_sigma: float = 1.0  # px, correlation length of that texture
    edge_gain: float = 0.15  # brightening at a solid/pore edge
    edge_width: float = 1.5  # px, e-folding distance of the brightening
    curtain_amp: float = 0.06  # sd of a streak's signed amplitude
    curtain_density: float = 0.05  # streaks per image column
    curtain_width: float = 1.5  # px, sd of a streak's Gaussian profile across x
    probe_sigma: float = 1.0  # px, Gaussian probe blur
    shading_amp: float = 0.12  # peak relative amplitude of the slow multiplicative field
    dose: float = 80.0  # electrons per pixel at intensity 1 (Poisson)
    read_noise: float = 0.01  # Gaussian detector noise, intensity units


# (low, high) of a uniform draw for each randomised parameter; the rest keep their defaults
RANGES: dict[str, tuple[float, float]] = {
    "pore_mean": (0.02, 0.20),
    "pore_sd": (0.01, 0.05),
    "pore_texture": (0.0, 0.06),
    "nmc_mean": (0.65, 0.92),
    "nmc_sd": (0.01, 0.05),
    "nmc_grain_sd": (0.0, 0.06),
    "cbd_mean": (0.30, 0.55),
    "cbd_sd": (0.02, 0.08),
    "cbd_texture": (0.03, 0.15),
    "cbd_texture_sigma": (0.6, 2.0),
    "edge_gain": (0.0, 0.25),
    "edge_width": (0.8, 2.5),
    "curtain_amp": (0.0, 0.10),
    "curtain_density": (0.0, 0.10),
    "curtain_width": (0.7, 3.0),
    "probe_sigma": (0.4, 1.6),
    "shading_amp": (0.0, 0.25),
    "dose": (20.0, 200.0),
    "read_noise": (0.0, 0.03),
}


def sample_params(rng: np.random.Generator) -> RenderParams:
    """Draw a `RenderParams` with every field in `RANGES` uniform in its range (dose log-uniform).

    >>> p = sample_params(np.random.default_rng(0))
    >>> RANGES["probe_sigma"][0] <= p.probe_sigma <= RANGES["probe_sigma"][1]
    True
    """
    values = {}
    for name, (lo, hi) in RANGES.items():
        if name == "dose":
            values[name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        else:
            values[name] = float(rng.uniform(lo, hi))
    return dataclasses.replace(RenderParams(), **values)


# --------------------------------------------------------------------------------------------------
# The renderer

_STEPS = ("phase", "edge", "curtain", "blur", "shading", "noise")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to unit sd (correlation length ~ sigma px)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    sd = field.std()
    return field / sd if sd > 0 else field


def render_sem(labels: np.ndarray, seed: int, params: RenderParams | None = None) -> np.ndarray:
    """Render an SEM-like grayscale image of a 2D label image.

    Parameters
    ----------
    labels : (H, W) integer array, 0 = pore, 1 = NMC, 2 = CBD.
    seed : seed of every random draw; the same (labels, seed, params) give the same image.
    params : rendering parameters; `RenderParams()` if None.

    Returns
    -------
    (H, W) float32 image in [0, 1].
    """
    p = params or RenderParams()
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2D, got shape {labels.shape}")
    h, w = labels.shape
    rng = {step: np.random.default_rng([seed, k]) for k, step in enumerate(_STEPS)}
    pore, nmc, cbd = labels == PORE, labels == NMC, labels == CBD

    # 1. phase intensities
    g = rng["phase"]
    img = np.zeros((h, w), np.float64)
    img[pore] = p.pore_mean
    img[nmc] = p.nmc_mean
    img[cbd] = p.cbd_mean
    img += np.select([pore, nmc, cbd], [p.pore_sd, p.nmc_sd, p.cbd_sd], 0.0) * g.standard_normal(
        (h, w)
    )
    img += pore * p.pore_texture * _smooth_noise(g, (h, w), 4.0)
    img += cbd * p.cbd_texture * _smooth_noise(g, (h, w), p.cbd_texture_sigma)
    particles, n_particles = ndimage.label(nmc)
    offsets = np.concatenate([[0.0], p.nmc_grain_sd * g.standard_normal(n_particles)])
    img += offsets[particles]

    # 2. edge brightening (distance in px from each pixel to the nearest pore / CBD pixel)
    if p.edge_gain > 0 and pore.any():
        d_pore = ndimage.distance_transform_edt(~pore)
        img += ~pore * p.edge_gain * np.exp(-(d_pore - 1.0) / p.edge_width)
    if p.edge_gain > 0 and cbd.any():
        d_cbd = ndimage.distance_transform_edt(~cbd)
        img += nmc * 0.5 * p.edge_gain * np.exp(-(d_cbd - 1.0) / p.edge_width)

    # 3. FIB curtaining: vertical streaks from the top edge down to a random depth
    g = rng["curtain"]
    n_streaks = g.poisson(p.curtain_density * w)
    if p.curtain_amp > 0 and n_streaks > 0:
        x = np.arange(w)[None, :]
        y = np.arange(h)[:, None]
        centres = g.uniform(0, w, n_streaks)
        widths = p.curtain_width * g.uniform(0.5, 1.5, n_streaks)
        amps = p.curtain_amp * g.standard_normal(n_streaks)
        depths = g.uniform(0.3, 1.5, n_streaks) * h
        stripes = np.zeros((h, w))
        for c, s, a, dep in zip(centres, widths, amps, depths, strict=True):
            across = np.exp(-0.5 * ((x - c) / s) ** 2)  # (1, W)
            down = 1.0 / (1.0 + np.exp((y - dep) / (0.05 * h + 1.0)))  # (H, 1), fades at the depth
            stripes += a * across * down
        stripes += 0.15 * p.curtain_amp * g.standard_normal((1, w))  # weak per-column offset
        img += stripes

    # 4. probe blur
    if p.probe_sigma > 0:
        img = ndimage.gaussian_filter(img, p.probe_sigma, mode="reflect")

    # 5. slow shading: a 3x3 random grid, upsampled bicubically to the image, peak |field| = 1
    g = rng["shading"]
    grid = g.uniform(-1, 1, (3, 3))
    field = ndimage.zoom(grid, (h / 3, w / 3), order=3, mode="nearest", grid_mode=True)[:h, :w]
    peak = np.abs(field).max()
    if peak > 0:
        img *= 1.0 + p.shading_amp * field / peak

    # 6. shot noise at a dose, read noise, clip
    g = rng["noise"]
    img = np.clip(img, 0.0, None)
    img = g.poisson(img * p.dose) / p.dose
    img += p.read_noise * g.standard_normal((h, w))
    return np.clip(img, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Data: label maps per file, and the split (which pixels train, which are held out)

# raw value -> label (0 pore, 1 NMC, 2 CBD), per ../shared/data/micrographs/README.md
LABEL_MAPS: dict[str, dict[int, int]] = {
    "nmc_sem_2d_3phase_628x758.tif": {0: PORE, 1: NMC, 2: CBD},  # float32 {0, 1, 2}
    "nmc_xct_2d_3phase_253x253.png": {0: PORE, 128: NMC, 255: CBD},
    "nmc_xct_3d_3phase_128cube.tif": {0: PORE, 1: NMC, 2: CBD},
    "nmc_xct_3d_3phase_30x252x253.tif": {0: PORE, 128: NMC, 255: CBD},
}

SEM = "nmc_sem_2d_3phase_628x758.tif"
XCT_PNG = "nmc_xct_2d_3phase_253x253.png"
CUBE = "nmc_xct_3d_3phase_128cube.tif"
VOL30 = "nmc_xct_3d_3phase_30x252x253.tif"

# The PNG is slice z = 39 of the NREL volume that the 128^3 cube is cropped from: measured here,
# cube[39] == png[62:190, 62:190] exactly. Held-out cube slices therefore stay >= 40 slices away.
PNG_CUBE_SLICE = 39
PNG_CUBE_OFFSET = (62, 62)


@dataclass(frozen=True)
class Region:
    """A 2D label region of one file: `index` selects slices along axis 0 of a 3D file (None: 2D);
    rows / cols are half-open pixel ranges (None: all)."""

    file: str
    index: int | None = None
    rows: tuple[int, int] | None = None
    cols: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        parts = [self.file.rsplit(".", 1)[0]]
        if self.index is not None:
            parts.append(f"z{self.index}")
        if self.cols is not None:
            parts.append(f"x{self.cols[0]}-{self.cols[1]}")
        return ":".join(parts)


SEM_WIDTH = 758
SEM_TRAIN_COLS = (0, 488)  # left 64 %
SEM_GAP = 32  # guard band, never used, so no training crop borders a held-out pixel
SEM_HELDOUT_COLS = (SEM_TRAIN_COLS[1] + SEM_GAP, SEM_WIDTH)  # right 238 columns

SPLIT: dict[str, tuple[Region, ...]] = {
    "train": (
        Region(SEM, cols=SEM_TRAIN_COLS),
        Region(XCT_PNG),
    ),
    "heldout": (
        Region(SEM, cols=SEM_HELDOUT_COLS),
        *(Region(CUBE, index=z) for z in (80, 96, 112, 127)),
        *(Region(VOL30, index=z) for z in (0, 10, 20, 29)),
    ),
}


def load_labels(path: str | Path) -> np.ndarray:
    """Read one micrograph file and map its values to labels 0 pore, 1 NMC, 2 CBD (uint8).

    2D files give (H, W); 3D files give (Z, H, W).
    """
    path = Path(path)
    if path.suffix == ".png":
        from PIL import Image  # only the PNG needs it

        raw = np.asarray(Image.open(path))
    else:
        import tifffile

        raw = tifffile.imread(path)
    raw = np.squeeze(raw)
    mapping = LABEL_MAPS[path.name]
    values = np.unique(raw)
    if not set(values.tolist()) <= set(mapping):
        raise ValueError(f"{path}: unexpected values {values}, expected {sorted(mapping)}")
    out = np.zeros(raw.shape, np.uint8)
    for value, label in mapping.items():
        out[raw == value] = label
    return out


def region_labels(folder: str | Path, region: Region) -> np.ndarray:
    """The (H, W) uint8 labels of one split region."""
    labels = load_labels(Path(folder) / region.file)
    if region.index is not None:
        labels = labels[region.index]
    if region.rows is not None:
        labels = labels[region.rows[0] : region.rows[1]]
    if region.cols is not None:
        labels = labels[:, region.cols[0] : region.cols[1]]
    return np.ascontiguousarray(labels)


def split_labels(folder: str | Path, part: str) -> list[tuple[str, np.ndarray]]:
    """(name, labels) of every region in SPLIT[part] ('train' or 'heldout')."""
    return [(r.name, region_labels(folder, r)) for r in SPLIT[part]]


def heldout_plan(
    folder: str | Path, variants: int = 3, seed: int = 20260 + 1
) -> list[tuple[str, np.ndarray, RenderParams, int]]:
    """The fixed evaluation set before rendering: (name, labels, params, render seed) per image.

    Each held-out region `variants` times: variant 0 with the default `RenderParams`, the others
    with random parameters from `RANGES`. Seeds come from `seed` (disjoint from training seeds,
    which start at the training config's seed and are drawn from a different generator).
    """
    rng = np.random.default_rng(seed)
    out = []
    for name, labels in split_labels(folder, "heldout"):
        for v in range(variants):
            params = RenderParams() if v == 0 else sample_params(rng)
            out.append((f"{name}#v{v}", labels, params, int(rng.integers(2**31))))
    return out


def heldout_renderings(
    folder: str | Path, variants: int = 3, seed: int = 20260 + 1
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The fixed evaluation set (`heldout_plan` rendered): (name, image float32, labels uint8)."""
    return [
        (name, render_sem(labels, seed=render_seed, params=params), labels)
        for name, labels, params, render_seed in heldout_plan(folder, variants, seed)
    ]


# The model card's preprocessing: per-image percentile scaling. Training applies it to every crop and
# `fusion segment` to every whole input image (fusion.models applies the card, and a test checks the
# two agree), so a 16-bit SEM and a rendering in [0, 1] reach the network on the same scale.
SCALE_RANGE_PERCENTILES = (0.5, 99.5)


def scale_range(
    image: np.ndarray, percentiles: tuple[float, float] = SCALE_RANGE_PERCENTILES
) -> np.ndarray:
    """Map the image's low/high percentiles to 0 and 1 and clip to [0, 1] (float32).

    >>> scale_range(np.arange(201, dtype=np.float32))[[0, 100, 200]].round(3)
    array([0. , 0.5, 1. ], dtype=float32)
    """
    lo, hi = np.percentile(image, percentiles)
    scaled = (np.asarray(image, np.float32) - np.float32(lo)) / np.float32(max(hi - lo, 1e-6))
    return np.clip(scaled, 0.0, 1.0)


class CropSampler:
    """Random (image, labels) crops rendered on the fly from the training regions.

    Each crop is cut from one training region (chosen with probability proportional to its area),
    randomly flipped / transposed, and rendered with its own random `RenderParams`.
    """

    def __init__(self, folder: str | Path, size: int, rng: np.random.Generator):
        self.regions = [labels for _, labels in split_labels(folder, "train")]
        areas = np.array([r.size for r in self.regions], float)
        self.weights = areas / areas.sum()
        self.size, self.rng = size, rng

    def sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, 1, size, size) float32 images and (n, size, size) int64 labels."""
        images = np.empty((n, 1, self.size, self.size), np.float32)
        labels = np.empty((n, self.size, self.size), np.int64)
        for i in range(n):
            region = self.regions[self.rng.choice(len(self.regions), p=self.weights)]
            h, w = region.shape
            y = self.rng.integers(0, h - self.size + 1)
            x = self.rng.integers(0, w - self.size + 1)
            crop = region[y : y + self.size, x : x + self.size]
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            if self.rng.random() < 0.5:
                crop = crop[::-1]
            if self.rng.random() < 0.5:  # only the labels turn; curtains stay vertical
                crop = crop.T
            crop = np.ascontiguousarray(crop)
            images[i, 0] = render_sem(
                crop, seed=int(self.rng.integers(2**31)), params=sample_params(self.rng)
            )
            labels[i] = crop
        return images, labels
