"""OME-Zarr: images and their labels from an OME-Zarr 0.4 (Zarr v2) or 0.5 (Zarr v3) store, a
folder or any fsspec URL, read lazily with zarr (level 0 only: the format keeps full
resolution; `fusion export ome-zarr` makes pyramids again).

Layout: every image becomes a channel of the scale group named after the group that holds it
(an image at ``electrode/grayscale`` is channel ``grayscale`` of group ``electrode``; an image
at the root is group ``image``, channel named after the multiscale); its labels join the same
group when they lie on the same grid. A channel axis ``c`` gives one channel per index
(``NAME_0``, ``NAME_1``, … or the ``omero`` channel labels); a time axis must have length 1.
A 2-D image gets ``z`` of length 1 at 0.

Placement: the voxel size is level 0's ``scale`` (times the multiscale's own) converted from
each space axis's ``unit`` to µm; the origin is the ``translation`` likewise. An axis without a
unit is refused unless ``voxel_size_um`` is given (it then also overrides the file's scale,
with a `LoaderWarning` where they differ). Channel attributes come from level 0's own
attributes where a fused dataset put them there (``long_name``, ``units``, ``modality``,
``origin``, label flags); otherwise images are ``measured`` of the given ``modality`` (refused
without one), labels are ``inferred``, with ``flag_values`` / ``flag_meanings`` /
``flag_colors`` from ``image-label`` ``properties`` (``name``) and ``colors``.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from fusion.schema import open_group, option_error
from fusion.schema.model.v0_3 import NEW_CHANNEL_DIMS
from fusion.schema.model.v0_3 import SCHEMA_ID as FUSION_0_3
from fusion.schema.provenance import dataset_entity

from ._base import LoaderError, LoaderWarning
from ._build import dataset
from ._omeread import UM_PER_UNIT, OmeFormatError, OmeImage, find_images
from ._provenance import make_tree, record_load, software, spatial_coords, voxel_option

__all__ = ["OmeZarrLoader"]

OWN_ATTRS = ("long_name", "units", "modality", "origin", "comment", "rotation",
             "crystal_symmetry", "phase_channel")  # fmt: skip
FLAG_ATTRS = ("flag_values", "flag_meanings", "flag_colors")


class OmeZarrLoader:
    """OME-Zarr 0.4 / 0.5 images and labels, folder or fsspec URL."""

    kind = "ome-zarr"
    description = "OME-Zarr 0.4 (Zarr v2) and 0.5 (Zarr v3) images and labels, folder or URL (zarr)"
    accepts_urls = True

    def can_open(self, path: Path | str) -> bool:
        """A URL, or a folder holding a Zarr group (``zarr.json``, or ``.zgroup``/``.zattrs``)."""
        if "://" in os.fspath(path):
            return True
        folder = Path(path)
        return folder.is_dir() and any(
            (folder / name).is_file() for name in ("zarr.json", ".zgroup", ".zattrs")
        )

    def open(
        self,
        path: Path | str,
        *,
        material: str = "unspecified",
        voxel_size_um: float | Sequence[float] | None = None,
        modality: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> xr.DataTree:
        """Read the store's images (level 0) into a fused dataset, lazily.

        Raises
        ------
        LoaderError
            Not a Zarr store, no OME image in it, metadata this reader does not understand,
            an axis without a unit (and no ``voxel_size_um``), or no ``modality`` known.
        """
        location = os.fspath(path)
        with record_load(voxel_size_um=voxel_size_um, modality=modality) as record:
            try:
                root = open_group(location, storage_options)
                images = find_images(root)
            except OmeFormatError as err:
                raise LoaderError(f"{location}: {err}") from err
            except Exception as err:
                raise LoaderError(f"{location}: not a readable Zarr store ({err})") from err
            if not images:
                raise LoaderError(
                    f"{location}: no OME-Zarr image (no `multiscales` at the root or below it)"
                )
            view = root.attrs.get("fusion_ome_view")
            view = view if isinstance(view, Mapping) else {}
            voxel = voxel_option(location, voxel_size_um)
            groups = _groups(location, images, voxel, modality, view)
            record.parameters["format"] = f"OME-Zarr {images[0].version}"
        names = list(groups)
        newer = any(set(ds.dims) & set(NEW_CHANNEL_DIMS) for ds in groups.values())
        return make_tree(
            title=f"OME-Zarr {location.rstrip('/').rsplit('/', 1)[-1]}",
            group=names[0],
            dataset=groups[names[0]],
            extra_groups={name: groups[name] for name in names[1:]},
            entity=dataset_entity(location),
            reader=software("zarr"),
            record=record,
            material=material,
            schema=FUSION_0_3 if newer else None,
        )


def _groups(
    location: str,
    images: list[OmeImage],
    voxel: tuple[float, ...] | None,
    modality: str | None,
    view: Mapping[str, Any],
) -> dict[str, xr.Dataset]:
    """Scale groups by name: each image with the labels that share its grid."""
    placed: dict[str, tuple[tuple, dict[str, xr.Variable]]] = {}
    for image in images:
        parent, base = _names(image)
        grid, channels = _channels(location, image, voxel, modality, base, view)
        for label in image.labels:
            name = _word(label.path.rsplit("/", 1)[-1])
            label_grid, label_channels = _channels(
                location, label, voxel, modality, name, view, image
            )
            if label_grid == grid:
                channels.update(label_channels)
            else:
                _place(placed, f"{parent}_{name}", label_grid, label_channels)
        _place(placed, parent, grid, channels)
    return {
        name: dataset(channels, {**spatial_coords(*grid), **_channel_coords(channels, view)})
        for name, (grid, channels) in placed.items()
    }


def _channel_coords(
    channels: Mapping[str, xr.Variable], view: Mapping[str, Any]
) -> dict[str, xr.Variable]:
    """The coordinate of each fourth dimension (``element``, ``xray_energy``) a view recorded,
    with its values as stored (strings or numbers) and its attributes."""
    out = {}
    for variable in channels.values():
        if len(variable.dims) == 4:
            dim = variable.dims[3]
            values, attrs = _recorded(view, dim)
            numeric = all(isinstance(v, int | float) for v in values)
            array = np.array(values, dtype=np.float64 if numeric else object)
            out[dim] = xr.Variable(dim, array, attrs)
    return out


def _recorded(view: Mapping[str, Any], dim: str) -> tuple[list[Any], dict[str, Any]]:
    for group in (view.get("groups") or {}).values():
        values = (group.get("channel_values") or {}).get(dim)
        if values:
            return list(values), dict((group.get("channel_attrs") or {}).get(dim) or {})
    raise LoaderError(f"the view records no values of {dim!r}")


def _place(placed: dict, name: str, grid: tuple, channels: dict[str, xr.Variable]) -> None:
    """Join a group of the same name and grid, else take a free name."""
    candidate, n = name, 1
    while candidate in placed and (
        placed[candidate][0] != grid or channels.keys() & placed[candidate][1].keys()
    ):
        candidate, n = f"{name}_{n}", n + 1
    if candidate in placed:
        placed[candidate][1].update(channels)
    else:
        placed[candidate] = (grid, dict(channels))


def _names(image: OmeImage) -> tuple[str, str]:
    """(group, channel base) of an image: its parent group and its own name."""
    parts = [p for p in image.path.split("/") if p]
    own = parts[-1] if parts and not parts[-1].isdigit() else image.name
    parent = parts[-2] if len(parts) >= 2 else "image"
    return _word(parent), _word(own)


def _word(text: str) -> str:
    """A name the format allows: ``[A-Za-z0-9_.-]+``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "image"


def _channels(
    location: str,
    image: OmeImage,
    voxel: tuple[float, ...] | None,
    modality: str | None,
    base: str,
    view: Mapping[str, Any],
    parent: OmeImage | None = None,
) -> tuple[tuple, dict[str, xr.Variable]]:
    """((shape, voxel, origin), channels) of one image's level 0. A channel axis is split
    into channels, except in a view of a fused dataset that records it as a dimension of one
    channel (``element``, ``quat``, ``energy_loss``), which gets it back as its last."""
    where = f"{location}: {image.path or '/'}"
    order, space, channel = _axes(where, image)
    shape, voxel_um, origin_um = _placement(where, image, space, voxel)
    data = da.from_zarr(image.array).transpose(order)
    for _ in range(len(order) - len(space) - (1 if channel is not None else 0)):
        data = data[0]  # time and other length-1 axes
    if channel is None:
        data = data[np.newaxis]
    if len(space) == 2:
        data = data[:, np.newaxis]
    attrs = _attrs(where, image, modality, parent)
    recorded = ((view.get("images") or {}).get(image.path) or {}).get("channel_dim")
    grid = (tuple(shape), tuple(_round(voxel_um)), tuple(_round(origin_um)))
    if recorded and channel is not None:
        dims = ("z", "y", "x", str(recorded))
        return grid, {base: xr.Variable(dims, da.moveaxis(data, 0, 3), attrs)}
    names = _channel_names(image, base, data.shape[0])
    channels = {
        name: xr.Variable(("z", "y", "x"), data[i], {**attrs}) for i, name in enumerate(names)
    }
    return grid, channels


def _axes(where: str, image: OmeImage) -> tuple[list[int], list[int], int | None]:
    """The order that puts other axes first, then the channel axis, then space (z, y, x)."""
    space, channel, other = [], None, []
    for i, axis in enumerate(image.axes):
        kind = axis.get("type") or ("space" if axis.get("name") in ("z", "y", "x") else None)
        size = image.array.shape[i]
        if kind == "space":
            space.append(i)
        elif kind == "channel" and channel is None:
            channel = i
        elif size == 1:
            other.append(i)
        else:
            raise LoaderError(f"{where}: axis {axis.get('name')!r} ({kind or 'no type'}) has "
                              f"{size} values; only one time point or one of each other axis "
                              "is read")  # fmt: skip
    if len(space) not in (2, 3):
        raise LoaderError(f"{where}: {len(space)} space axes; 2-D or 3-D images are read")
    return [*other, *([channel] if channel is not None else []), *space], space, channel


def _placement(
    where: str, image: OmeImage, space: list[int], voxel: tuple[float, ...] | None
) -> tuple[list[int], list[float], list[float]]:
    """(z, y, x) shape, voxel size and origin in µm."""
    units = [image.axes[i].get("unit") for i in space]
    scale = [image.scale[i] for i in space]
    shift = [image.translation[i] for i in space]
    shape = [int(image.array.shape[i]) for i in space]
    if voxel is not None:
        chosen = list(voxel[-len(space) :])
        if all(u in UM_PER_UNIT for u in units):
            from_file = [s * UM_PER_UNIT[u] for s, u in zip(scale, units, strict=True)]
            if not np.allclose(chosen, from_file, rtol=1e-3):
                warnings.warn(f"{where}: the file gives a voxel size of {_round(from_file)} um; "
                              f"used the caller's {chosen} um", LoaderWarning, stacklevel=6)  # fmt: skip
        factor = [c / s for c, s in zip(chosen, scale, strict=True)]  # the file's unit → µm
        voxel_um, origin_um = chosen, [t * f for t, f in zip(shift, factor, strict=True)]
    else:
        unknown = [u for u in units if u is not None and u not in UM_PER_UNIT]
        if unknown:
            raise LoaderError(f"{where}: space unit {unknown[0]!r} is not a length this reader "
                              f"knows ({', '.join(sorted(UM_PER_UNIT))})")  # fmt: skip
        if None in units:
            names = [image.axes[i].get("name") for i in space]
            raise option_error(LoaderError, f"{where}: axes {names} have no physical unit; "
                               "give the voxel size in micrometres: {voxel_size_um}",
                               voxel_size_um="...")  # fmt: skip
        voxel_um = [s * UM_PER_UNIT[u] for s, u in zip(scale, units, strict=True)]
        origin_um = [t * UM_PER_UNIT[u] for t, u in zip(shift, units, strict=True)]
    if len(space) == 2:
        shape, voxel_um, origin_um = [1, *shape], [min(voxel_um), *voxel_um], [0.0, *origin_um]
    if not all(math.isfinite(v) and v > 0 for v in voxel_um):
        raise LoaderError(f"{where}: scale {scale} is not a positive voxel size")
    return shape, voxel_um, origin_um


def _round(values: Sequence[float]) -> list[float]:
    return [float(f"{v:.12g}") for v in values]


def _attrs(
    where: str, image: OmeImage, modality: str | None, parent: OmeImage | None
) -> dict[str, Any]:
    own = image.array.attrs.asdict()
    kept = {k: own[k] for k in OWN_ATTRS if k in own}
    is_label = image.label is not None
    if modality is not None:
        kept["modality"] = modality
    if "modality" not in kept and parent is not None:
        kept["modality"] = parent.array.attrs.get("modality", modality)
    if kept.get("modality") is None:
        raise option_error(LoaderError, f"{where}: OME-Zarr does not say which technique made "
                           "this image; name it: {modality}", modality="XCT")  # fmt: skip
    kept.setdefault("long_name", f"{image.name} {'label' if is_label else 'intensity'}")
    kept.setdefault("units", "1")
    kept.setdefault("origin", "inferred" if is_label else "measured")
    if is_label:
        kept.update(_flags(where, image, own))
    ome = {"multiscale": image.name, "version": image.version}
    if is_label:
        ome["image-label"] = image.label
    kept["original_metadata"] = json.dumps(ome, sort_keys=True)
    return kept


def _flags(where: str, image: OmeImage, own: Mapping[str, Any]) -> dict[str, Any]:
    """The flags of a label image: its own (a fused dataset's), else ``image-label``'s."""
    if np.dtype(image.array.dtype).kind not in "iu":
        raise LoaderError(
            f"{where}: a label image of type {image.array.dtype}; labels are integers"
        )
    if "flag_values" in own:
        return {k: own[k] for k in FLAG_ATTRS if k in own}
    label = image.label or {}
    named = {int(p["label-value"]): str(p["name"]) for p in label.get("properties") or []
             if "label-value" in p and "name" in p}  # fmt: skip
    if not named:
        return {}  # an integer channel without flags, like grain ids
    values = sorted(named)
    words = [_word(named[v]) for v in values]
    if len(set(words)) != len(words):
        words = [f"{w}_{v}" for w, v in zip(words, values, strict=True)]
    flags: dict[str, Any] = {"flag_values": values, "flag_meanings": " ".join(words)}
    colours = {int(c["label-value"]): c.get("rgba") for c in label.get("colors") or []
               if "label-value" in c}  # fmt: skip
    if all(colours.get(v) for v in values):
        flags["flag_colors"] = [_hex(colours[v]) for v in values]
    return flags


def _hex(rgba: Sequence[int]) -> str:
    """Four bytes as ``#rrggbb`` (opaque) or ``#rrggbbaa``."""
    text = "#" + "".join(f"{int(v):02x}" for v in rgba[:3])
    return text if len(rgba) < 4 or int(rgba[3]) == 255 else text + f"{int(rgba[3]):02x}"


def _channel_names(image: OmeImage, base: str, count: int) -> list[str]:
    if count == 1:
        return [base]
    labels = [c.get("label") for c in (image.omero or {}).get("channels", [])]
    if len(labels) == count and all(labels):
        return [f"{base}_{_word(str(label))}" for label in labels]
    return [f"{base}_{i}" for i in range(count)]
