"""What the OME view of a dataset holds: one plan per image, read from the dataset's metadata.

Every scale group becomes a plain group of the view holding one OME image per channel:

* a grey channel on (z, y, x) is an image at ``GROUP/CHANNEL`` (levels by ``mean``);
* a channel on (z, y, x, D) is an image with a leading channel axis ``c`` (the values of D in
  order), ``stride`` levels for orientations and ``mean`` for the others;
* a label channel (``flag_values``, or an integer channel named ``id`` or ``*_id`` such as
  ``grain_id``) is an image-label (levels by ``mode``): in the ``labels`` collection of the
  group's first grey (z, y, x) image where the group has one (``GROUP/IMAGE/labels/NAME``),
  else on its own at ``GROUP/NAME``.

Projection groups (format 0.2) hold no voxels and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from ._pyramid import Reduction, level_shapes

__all__ = ["GroupPlan", "ImagePlan", "plan_view"]

SPATIAL = ("z", "y", "x")


@dataclass(frozen=True)
class ImagePlan:
    """One OME image (or image-label) of the view."""

    group: str
    channel: str
    path: str
    """Where the image group lies in the view, e.g. ``electrode/grayscale/labels/phase``."""
    role: str
    """``image`` or ``label``."""
    reduction: Reduction
    shapes: list[tuple[int, ...]]
    """Spatial shape of every level."""
    channel_dim: str | None
    """``element``, ``quat`` or ``energy_loss`` for a channel with a fourth dimension."""
    attrs: Mapping[str, Any]
    """The channel's own attributes in the dataset."""
    has_parent: bool = False
    """A label with a parent image (in its ``labels`` collection)."""

    @property
    def source_key(self) -> str:
        return f"{self.group}/{self.channel}"

    @property
    def flag_values(self) -> list[int] | None:
        values = self.attrs.get("flag_values")
        return [int(v) for v in values] if values is not None else None


@dataclass
class GroupPlan:
    """One scale group: its placement and its images."""

    name: str
    shape: tuple[int, int, int]
    voxel_um: tuple[float, float, float]
    origin_um: tuple[float, float, float]
    assumed_axes: list[str]
    """Axes of length 1, whose voxel size the coordinates cannot give: the group's smallest
    known voxel size is used (1 µm where none is known)."""
    images: list[ImagePlan] = field(default_factory=list)
    channel_values: dict[str, list[Any]] = field(default_factory=dict)
    """The values along each channel dimension (``element``: ``["Li", "Ni", …]``;
    ``xray_energy``: numbers)."""
    channel_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The attributes of each channel-dimension coordinate (``units: eV``)."""

    @property
    def labels_of(self) -> dict[str, list[str]]:
        """Image path → the names of its labels."""
        out: dict[str, list[str]] = {}
        for image in self.images:
            if image.has_parent:
                parent = image.path.rsplit("/labels/", 1)[0]
                out.setdefault(parent, []).append(image.channel)
        return out


def plan_view(root: zarr.Group) -> list[GroupPlan]:
    """The view of a conforming dataset (checked by the caller), group by group."""
    plans = []
    for name, group in sorted(root.groups()):
        if "angle" in group.array_keys():  # a projection group: no voxels to show
            continue
        plans.append(_plan_group(name, group))
    return plans


def _plan_group(name: str, group: zarr.Group) -> GroupPlan:
    coords = {axis: np.asarray(group[axis][:], dtype=np.float64) for axis in SPATIAL}
    shape = tuple(len(coords[a]) for a in SPATIAL)
    known = [_step(c) for c in coords.values() if len(c) > 1]
    fallback = min(known) if known else 1.0
    voxel = tuple(_step(c) if len(c) > 1 else fallback for c in coords.values())
    plan = GroupPlan(
        name=name,
        shape=shape,  # type: ignore[arg-type]
        voxel_um=voxel,  # type: ignore[arg-type]
        origin_um=tuple(float(f"{c[0]:.12g}") for c in coords.values()),  # type: ignore[arg-type]
        assumed_axes=[a for a in SPATIAL if len(coords[a]) == 1],
    )
    arrays = dict(group.arrays())
    channels = {
        key: array
        for key, array in sorted(arrays.items())
        if _dims(array)[:3] == SPATIAL and len(_dims(array)) in (3, 4)
    }
    labels = [key for key, array in channels.items() if _is_label(key, array)]
    greys = [key for key in channels if key not in labels and len(_dims(channels[key])) == 3]
    host = greys[0] if greys else None
    for key, array in channels.items():
        dims = _dims(array)
        extra = dims[3] if len(dims) == 4 else None
        if extra is not None and extra in arrays:
            values = np.asarray(arrays[extra][:])
            plan.channel_values[extra] = (
                values.astype(np.float64).tolist()
                if values.dtype.kind in "iuf"
                else [str(v) for v in values]
            )
            plan.channel_attrs[extra] = {  # not xarray's encoding (_FillValue …)
                k: v for k, v in arrays[extra].attrs.items() if not k.startswith("_")
            }
        if key in labels and extra is None:
            path = f"{name}/{host}/labels/{key}" if host else f"{name}/{key}"
            image = ImagePlan(name, key, path, "label", "mode", level_shapes(shape), None,
                              dict(array.attrs), has_parent=host is not None)  # fmt: skip
        else:
            reduction: Reduction = "stride" if extra == "quat" else "mean"
            image = ImagePlan(name, key, f"{name}/{key}", "image", reduction,
                              level_shapes(shape), extra, dict(array.attrs))  # fmt: skip
        plan.images.append(image)
    plan.images.sort(key=lambda image: image.role == "label")  # parents before their labels
    return plan


def _step(coordinate: np.ndarray) -> float:
    """The voxel size the coordinates give (§5 of the format), to 12 significant digits:
    ``(2.15 - 0.6) / 31`` is 0.05, not 0.049999999999999996."""
    return float(f"{(coordinate[-1] - coordinate[0]) / (len(coordinate) - 1):.12g}")


def _dims(array: zarr.Array) -> tuple[str, ...]:
    names = getattr(array.metadata, "dimension_names", None) or ()
    return tuple(str(n) for n in names)


def _is_label(key: str, array: zarr.Array) -> bool:
    """A label channel, or an integer id map (``grain_id``), or a mask."""
    if "flag_values" in array.attrs:
        return True
    kind = np.dtype(array.dtype).kind
    return kind == "b" or (kind in "iu" and (key == "id" or key.endswith("_id")))
