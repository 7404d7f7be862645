"""The real 2D images a SliceGAN critic learns from: one 2D image, one slice of a 3D volume, or
one slice normal to each axis of a volume (the anisotropic form). NumPy, tifffile and
`fusion.models.metrics` only: no torch.

SliceGAN (Kench & Cooper, Nat. Mach. Intell. 2021) trains a 3D generator with 2D critics: the
slices of a generated volume normal to each axis are judged against real 2D images.

- **Isotropic** (one image): one critic judges the slices along all three axes against the same
  image. The image is a 2D file, or the slice of a 3D volume normal to ``slice_axis`` at
  ``slice_index``.
- **Anisotropic** (``anisotropic=True``, a 3D volume): one image per axis, the slice normal to
  axis k at ``slice_index``, and one critic per axis. As in the paper's anisotropic form, each
  critic sees a single 2D image; the rest of the volume is never seen in training, so it stays a
  held-out ground truth for the generated volumes.

Orientation convention, shared with `fusion.training.gan.slices_along`: the slice normal to axis k keeps the
other two axes in their original order. For a volume (X, Y, Z) the slice normal to axis 0 is
(Y, Z), normal to axis 1 is (X, Z), normal to axis 2 is (X, Y). Critic k compares generated
slices normal to axis k with the real slice normal to axis k, so the in-plane directions
match too: an anisotropic structure keeps its orientation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from fusion.models import metrics

CENTRAL = -1
"""``slice_index`` value that picks the central slice, ``n // 2``, along each axis used."""


def read_labels(path: str | Path, n_phases: int) -> np.ndarray:
    """A label image (2D) or volume (3D) as uint8, checked to hold exactly the labels 0..n−1.

    Leading axes of length 1 are dropped (a 2D TIFF often reads as (1, H, W)).
    """
    labels = np.squeeze(tifffile.imread(path))
    if labels.ndim not in (2, 3):
        raise ValueError(f"{path}: expected a 2D image or a 3D volume, got shape {labels.shape}")
    values = np.unique(labels)
    if not np.array_equal(values, np.arange(n_phases)):
        raise ValueError(f"{path}: expected labels 0..{n_phases - 1}, got {values}")
    return labels.astype(np.uint8)


def volume_slice(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D slice of ``volume`` normal to ``axis`` at ``index`` (`CENTRAL`: ``n // 2``),
    the other two axes in their original order.

    >>> volume = np.arange(24).reshape(2, 3, 4)
    >>> volume_slice(volume, 1, 2).tolist()  # volume[:, 2, :]
    [[8, 9, 10, 11], [20, 21, 22, 23]]
    >>> volume_slice(volume, 2, CENTRAL).shape  # volume[:, :, 2]
    (2, 3)
    """
    if axis not in (0, 1, 2):
        raise ValueError(f"slice axis must be 0, 1 or 2, got {axis}")
    n = volume.shape[axis]
    position = n // 2 if index == CENTRAL else index
    if not 0 <= position < n:
        raise ValueError(
            f"slice index {index} is outside axis {axis} of length {n} (use {CENTRAL} for the centre)"
        )
    return np.take(volume, position, axis=axis)


def training_images(
    path: str | Path,
    n_phases: int,
    *,
    stride: int = 1,
    slice_axis: int = 0,
    slice_index: int = CENTRAL,
    anisotropic: bool = False,
) -> list[np.ndarray]:
    """The real 2D label images of a run: ``[image]`` (isotropic) or ``[normal to axis 0, 1, 2]``
    (anisotropic), each keeping every ``stride``-th pixel along both of its axes.

    A 2D file is used as it is; ``slice_axis`` and ``slice_index`` apply to 3D volumes only and
    must keep their defaults for a 2D file. In the anisotropic form ``slice_index`` is used along
    every axis and ``slice_axis`` is not used.
    """
    if stride < 1:
        raise ValueError(f"image stride must be ≥ 1, got {stride}")
    labels = read_labels(path, n_phases)
    if labels.ndim == 2:
        if anisotropic:
            raise ValueError(f"{path}: the anisotropic form needs a 3D volume, got a 2D image")
        if (slice_axis, slice_index) != (0, CENTRAL):
            raise ValueError(
                f"{path}: slice axis/index {slice_axis}/{slice_index} given for a 2D image"
            )
        images = [labels]
    elif anisotropic:
        images = [volume_slice(labels, axis, slice_index) for axis in range(3)]
    else:
        images = [volume_slice(labels, slice_axis, slice_index)]
    images = [image[::stride, ::stride] for image in images]
    for axis, image in enumerate(images):
        missing = sorted(set(range(n_phases)) - set(np.unique(image).tolist()))
        if missing:
            where = f"slice normal to axis {axis}" if anisotropic else "training image"
            raise ValueError(f"{path}: the {where} has no pixels of phase(s) {missing}")
    return images


def crop_coverage(length: int, size: int, padding: int) -> np.ndarray:
    """How often each of ``length`` pixels along one axis lies in a ``size``-px crop whose start
    is drawn uniformly from every position of the image padded by ``padding`` px on both sides
    with its mirror image (``np.pad(mode="symmetric")``); a mirrored pixel counts for the pixel
    it copies. The 2D coverage is the outer product of the two axes' coverages.

    Without padding the pixels near the edges are seen least (the first pixel by one start
    position, the central ones by ``size``); with ``padding = size // 2`` the coverage is flat.

    >>> crop_coverage(8, 4, 0).tolist()
    [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0]
    >>> crop_coverage(8, 4, 2).tolist()
    [5.0, 5.0, 4.0, 4.0, 4.0, 4.0, 5.0, 5.0]
    """
    if not 0 <= padding < length:
        raise ValueError(
            f"crop padding must be in [0, {length}) for a {length}-px axis, got {padding}"
        )
    if length + 2 * padding < size:
        raise ValueError(
            f"a {length}-px axis padded by {padding} is smaller than the {size}-px crops"
        )
    padded = length + 2 * padding
    starts = padded - size + 1
    seen = np.convolve(np.ones(starts), np.ones(size))  # (padded,) crops covering each padded pixel
    source = np.arange(padded) - padding  # the image pixel each padded pixel copies
    source = np.where(source < 0, -source - 1, source)
    source = np.where(source >= length, 2 * length - source - 1, source)
    coverage = np.zeros(length)
    np.add.at(coverage, source, seen)
    return coverage


def seen_fractions(labels: np.ndarray, n_phases: int, size: int, padding: int) -> np.ndarray:
    """Each phase's fraction of the pixels the critic sees: ``labels`` (H, W) weighted by the
    crop coverage (`crop_coverage`). Equal to the image's fractions when the coverage is flat."""
    weights = np.outer(
        crop_coverage(labels.shape[0], size, padding), crop_coverage(labels.shape[1], size, padding)
    )
    weights /= weights.sum()
    return np.array([weights[labels == p].sum() for p in range(n_phases)])


def label_two_point(labels: np.ndarray, n_phases: int, max_shift: int) -> np.ndarray:
    """(3, P, R): each axis's S2(r) of a label volume (`fusion.models.metrics`), r = 1 .. max_shift."""
    s2 = metrics.two_point_correlation
    return np.array(
        [[s2(labels, p, axis, max_shift + 1)[1:] for p in range(n_phases)] for axis in range(3)]
    )


def label_axis_offsets(labels: np.ndarray, n_phases: int, max_shift: int) -> np.ndarray:
    """(3, P, R): each axis's S2(r) of a label volume (`label_two_point`) minus the three axes'
    mean; zero along every axis of an isotropic structure."""
    curves = label_two_point(labels, n_phases, max_shift)
    return curves - curves.mean(axis=0)


def expected_interface_density(
    images: list[np.ndarray], n_phases: int, *, transposed: bool
) -> np.ndarray:
    """(3, P): per volume axis and phase, the interface density (`fusion.models.metrics`) the
    critics' real images show along that axis; a generated volume should match it axis by axis.

    Volume axis k is seen in the slices normal to the two other axes, as the in-plane axis that
    `training_data`'s orientation convention gives it (for the slice normal to axis j, the other
    two axes in order), so its expectation is the mean of those two in-plane densities. One
    image (the isotropic form) stands for all three slice directions. With ``transposed`` crops
    (isotropic form only) the critic sees each crop both ways round: every axis expects the mean
    of the image's two axes.
    """
    density = metrics.interface_density
    return expected_per_axis(images, density, n_phases, transposed=transposed)


def expected_two_point(
    images: list[np.ndarray], n_phases: int, max_shift: int, *, transposed: bool
) -> np.ndarray:
    """(3, P, R): per volume axis and phase, the two-point correlation S2(r), r = 1 ..
    max_shift (`fusion.models.metrics`), that the critics' real images show along that axis, by
    the rule of `expected_interface_density`."""
    s2 = metrics.two_point_correlation
    return expected_per_axis(
        images,
        lambda image, p, a: s2(image, p, a, max_shift + 1)[1:],
        n_phases,
        transposed=transposed,
    )


def expected_per_axis(images, statistic, n_phases: int, *, transposed: bool) -> np.ndarray:
    """(3, P, ...): ``statistic(image, phase, in-plane axis)`` of the real images as each volume
    axis sees it (the rule is `expected_interface_density`'s)."""
    per_image = np.array(
        [[[statistic(image, p, a) for p in range(n_phases)] for a in (0, 1)] for image in images]
    )  # (images, in-plane axis, P, ...)
    if transposed:
        if len(images) != 1:
            raise ValueError("transposed crops apply to the isotropic form (one image) only")
        return np.repeat(per_image[0].mean(axis=0, keepdims=True), 3, axis=0)
    if len(images) not in (1, 3):
        raise ValueError(f"expected one image or one per axis, got {len(images)}")
    per_slice = per_image if len(images) == 3 else np.repeat(per_image, 3, axis=0)
    # in the slice normal to axis j, volume axis k (≠ j) is in-plane axis k − (k > j)
    return np.array(
        [np.mean([per_slice[j, k - (k > j)] for j in range(3) if j != k], axis=0) for k in range(3)]
    )
