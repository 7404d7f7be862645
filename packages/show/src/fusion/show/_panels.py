"""The three orthogonal slices of one channel, as images ready to draw.

Each channel becomes a `Row`: its slices normal to z, y and x through one voxel (the centre by
default) with their extents in µm, and what its key shows: a legend of phases, a colour bar, or
the IPF note. Views whose plane has an axis of length 1 (a single 2D image) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xarray as xr

from ._channels import SPATIAL_DIMS, Channel
from ._colours import ipf_rgb, label_legend, labels_rgb
from ._errors import ShowError
from ._units import format_position

__all__ = ["VIEWS", "Panel", "Row", "channel_row", "slice_indices"]

VIEWS = (("z", ("y", "x")), ("y", ("z", "x")), ("x", ("z", "y")))
"""(dimension cut, (image rows, image columns)) of each view."""


@dataclass(frozen=True)
class Panel:
    """One slice: an image (2D values, or RGB on a last axis of 3) and where it lies."""

    image: np.ndarray
    extent: tuple[float, float, float, float]
    """(left, right, bottom, top) in µm, as matplotlib's ``imshow`` takes it."""
    title: str
    """The channel's path, then on a second line where the slice cuts (``z = 150.9 µm``)."""
    plane: tuple[str, str] = ("y", "x")
    """Dimensions of the image's rows and columns."""


@dataclass(frozen=True)
class Row:
    """One channel's slices and its key."""

    path: str
    kind: Literal["labels", "orientation", "scalar"]
    panels: list[Panel]
    label: str
    """Colour bar label (scalar) or legend title (labels: the channel's name; orientation)."""
    legend: list[tuple[int, str, tuple[float, float, float]]] = field(default_factory=list)
    value_range: tuple[float, float] = (0.0, 1.0)


def slice_indices(dataset: xr.Dataset, index: Sequence[int] | None) -> dict[str, int]:
    """Voxel index of each cut along z, y, x: the given ones, or the centre."""
    shape = [dataset.sizes[dim] for dim in SPATIAL_DIMS]
    if index is None:
        return {dim: n // 2 for dim, n in zip(SPATIAL_DIMS, shape, strict=True)}
    if len(index) != 3 or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise ShowError(
            f"--index {','.join(map(str, index))} is outside the volume: (z, y, x) must be "
            f"below {tuple(shape)}"
        )
    return dict(zip(SPATIAL_DIMS, (int(i) for i in index), strict=True))


def channel_row(channel: Channel, index: Sequence[int] | None = None) -> Row:
    """The slices of one channel through ``index`` (z, y, x; default: the centre)."""
    dataset, data = channel.dataset, channel.data
    at = slice_indices(dataset, index)
    views = [(dim, plane) for dim, plane in VIEWS if all(dataset.sizes[d] > 1 for d in plane)]
    cuts = [data.isel({dim: at[dim]}).transpose(*plane, ...) for dim, plane in views]
    titles = [f"{channel.path}\n{dim} = {_position(dataset, dim, at[dim])}" for dim, _ in views]
    extents = [_extent(dataset, plane) for _, plane in views]
    planes = [plane for _, plane in views]

    def panels(images: list[np.ndarray]) -> list[Panel]:
        return [Panel(*parts) for parts in zip(images, extents, titles, planes, strict=True)]

    if "flag_values" in data.attrs:
        images = [labels_rgb(cut.values, data.attrs) for cut in cuts]
        return Row(channel.path, "labels", panels(images), channel.name, label_legend(data.attrs))
    if "quat" in data.dims:
        images = [
            _orientation_image(channel, cut, dim, at)
            for cut, (dim, _) in zip(cuts, views, strict=True)
        ]
        groups = ", ".join(f"{p} {g}" for p, g in data.attrs["crystal_symmetry"].items())
        label = f"IPF colours of sample z\n{groups}"
        return Row(channel.path, "orientation", panels(images), label)
    images, label = _scalar_images(data, cuts)
    finite = np.concatenate([image[np.isfinite(image)] for image in images])
    value_range = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return Row(channel.path, "scalar", panels(images), label, [], value_range)


def _position(dataset: xr.Dataset, dim: str, index: int) -> str:
    """Where voxel ``index`` lies along ``dim``, to the digits that tell voxels apart."""
    values = np.asarray(dataset[dim].values, dtype=np.float64)
    step = float(values[1] - values[0]) if values.size > 1 else None
    return format_position(float(values[index]), step)


def _extent(dataset: xr.Dataset, plane: tuple[str, str]) -> tuple[float, float, float, float]:
    rows, cols = (np.asarray(dataset[dim].values, dtype=np.float64) for dim in plane)
    row_step, col_step = rows[1] - rows[0], cols[1] - cols[0]
    return (
        cols[0] - col_step / 2,
        cols[-1] + col_step / 2,
        rows[-1] + row_step / 2,
        rows[0] - row_step / 2,
    )


def _orientation_image(channel: Channel, cut: xr.DataArray, dim: str, at: dict) -> np.ndarray:
    attrs = channel.data.attrs
    phase_name = attrs.get("phase_channel")
    phases = phase_attrs = None
    if phase_name in channel.dataset:
        phase = channel.dataset[phase_name]
        phases = phase.isel({dim: at[dim]}).transpose(*cut.dims[:2]).values
        phase_attrs = phase.attrs
    quaternions = cut.transpose(..., "quat").sel(quat=["w", "x", "y", "z"]).values
    return ipf_rgb(quaternions, attrs["crystal_symmetry"], phases, phase_attrs)


def _scalar_images(data: xr.DataArray, cuts: list[xr.DataArray]) -> tuple[list[np.ndarray], str]:
    """Plain values; a composition's most varying element; a spectrum's sum."""
    units = data.attrs.get("units", "")
    name = data.attrs.get("long_name", data.name)
    if data.ndim == 3:
        return [cut.values.astype(np.float64) for cut in cuts], f"{name} [{units}]"
    extra = data.dims[3]
    if extra == "element":
        loaded = [cut.values.astype(np.float64) for cut in cuts]
        values = np.concatenate([a.reshape(-1, a.shape[-1]) for a in loaded])
        pick = int(np.argmax(np.nanstd(values, axis=0)))
        element = str(data["element"].values[pick])
        return [a[..., pick] for a in loaded], f"{element} {name} [{units}]"
    summed = [cut.sum(extra).values.astype(np.float64) for cut in cuts]
    return summed, f"{name} summed over {extra} [{units}]"
