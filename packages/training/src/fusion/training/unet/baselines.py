"""The two baselines users reach for, to compare the U-Net against on the held-out renderings.

1. **Global multi-level Otsu**: two thresholds that maximise the between-class variance of the
   image histogram (`skimage.filters.threshold_multiotsu` when scikit-image is installed, else the
   exhaustive 256-bin search below, which gives the same thresholds up to a bin). Classes map by the
   documented intensity order: darkest = pore, middle = carbon-binder, brightest = NMC.
2. **Random-forest pixel classifier** (the Trainable Weka Segmentation approach, with scikit-learn):
   per-pixel features = the raw image and, at sigmas 0.7, 1, 2, 4 and 8 px, the Gaussian-smoothed
   image, the Gaussian gradient magnitude and both Hessian eigenvalues (21 features); a
   `RandomForestClassifier` (100 trees, sqrt features per split) trained on pixels sampled from
   renderings of the same *training* regions the U-Net sees (render.CropSampler, random parameters).

Run them through `evaluate.py otsu rf` (needs scikit-learn: the training environment has it).

>>> img = np.concatenate([np.full(50, 0.1), np.full(30, 0.4), np.full(20, 0.8)]).reshape(10, 10)
>>> np.bincount(otsu_segment(img).ravel(), minlength=3).tolist()  # pore, NMC, CBD
[50, 20, 30]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from fusion.training.unet.render import CBD, NMC, PORE, CropSampler

SIGMAS = (0.7, 1.0, 2.0, 4.0, 8.0)

# --------------------------------------------------------------------------------------------------
# Multi-level Otsu


def otsu_thresholds(image: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """Two thresholds maximising the between-class variance of a 3-class split of the histogram."""
    try:
        from skimage.filters import threshold_multiotsu
    except ImportError:
        pass
    else:
        t = threshold_multiotsu(image, classes=3, nbins=bins)
        return float(t[0]), float(t[1])
    hist, edges = np.histogram(image, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    p = hist / hist.sum()
    w = np.concatenate([[0.0], np.cumsum(p)])  # w[k] = mass of bins < k
    m = np.concatenate([[0.0], np.cumsum(p * centres)])
    i, j = np.triu_indices(bins + 1, k=1)  # classes [0, i), [i, j), [j, bins)
    keep = (i > 0) & (j < bins)
    i, j = i[keep], j[keep]
    w0, w1, w2 = w[i], w[j] - w[i], 1.0 - w[j]
    m0, m1, m2 = m[i], m[j] - m[i], m[-1] - m[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.nan_to_num(m0**2 / w0) + np.nan_to_num(m1**2 / w1) + np.nan_to_num(m2**2 / w2)
    best = int(np.argmax(score))
    return float(edges[i[best]]), float(edges[j[best]])


def otsu_segment(image: np.ndarray) -> np.ndarray:
    """Labels (0 pore, 1 NMC, 2 CBD) of an image by global 3-level Otsu thresholds."""
    t0, t1 = otsu_thresholds(np.asarray(image, np.float64))
    classes = np.digitize(image, [t0, t1])  # 0 dark, 1 middle, 2 bright
    return np.array([PORE, CBD, NMC], np.uint8)[classes]


# --------------------------------------------------------------------------------------------------
# Random-forest pixel classifier


def pixel_features(image: np.ndarray, sigmas: tuple[float, ...] = SIGMAS) -> np.ndarray:
    """(H, W, 1 + 4 len(sigmas)) float32: raw, then per sigma Gaussian, |gradient|, Hessian eigenvalues."""
    image = np.asarray(image, np.float64)
    feats = [image]
    for s in sigmas:
        feats.append(ndimage.gaussian_filter(image, s))
        feats.append(ndimage.gaussian_gradient_magnitude(image, s))
        hyy = ndimage.gaussian_filter(image, s, order=(2, 0))
        hxx = ndimage.gaussian_filter(image, s, order=(0, 2))
        hxy = ndimage.gaussian_filter(image, s, order=(1, 1))
        mean, root = 0.5 * (hxx + hyy), np.sqrt(0.25 * (hxx - hyy) ** 2 + hxy**2)
        feats += [mean + root, mean - root]  # Hessian eigenvalues, larger first
    return np.stack(feats, axis=-1).astype(np.float32)


class RandomForestSegmenter:
    def __init__(self, n_estimators: int = 100, seed: int = 0):
        from sklearn.ensemble import RandomForestClassifier

        self.forest = RandomForestClassifier(
            n_estimators=n_estimators,
            max_features="sqrt",
            min_samples_leaf=2,
            n_jobs=1,
            random_state=seed,
        )

    @classmethod
    def fit_on_training_renderings(
        cls,
        micrographs: str | Path,
        crops: int = 64,
        crop: int = 128,
        per_crop: int = 1000,
        seed: int = 4242,
    ) -> RandomForestSegmenter:
        """Train on `per_crop` random pixels of each of `crops` rendered training crops."""
        rng = np.random.default_rng(seed)
        images, labels = CropSampler(micrographs, crop, rng).sample(crops)
        xs, ys = [], []
        for image, lab in zip(images[:, 0], labels, strict=True):
            f = pixel_features(image).reshape(-1, len(SIGMAS) * 4 + 1)
            pick = rng.choice(f.shape[0], per_crop, replace=False)
            xs.append(f[pick])
            ys.append(lab.ravel()[pick])
        model = cls(seed=seed)
        model.forest.fit(np.concatenate(xs), np.concatenate(ys))
        return model

    def predict(self, image: np.ndarray) -> np.ndarray:
        f = pixel_features(image)
        return self.forest.predict(f.reshape(-1, f.shape[-1])).reshape(image.shape).astype(np.uint8)
