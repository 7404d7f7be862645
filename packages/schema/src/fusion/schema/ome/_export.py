"""`export_ome_zarr`: write the OME-Zarr 0.5 view of a fused dataset, with pyramids.

Why a second store: spec/fusion-ome-1.md §1. Level 0 of every (z, y, x) channel is the
dataset's own array, copied object by object (chunks are not decoded or re-encoded); a channel
with a fourth dimension is written again with that dimension first, as OME wants. Each further
level is computed from the level before it in the view, block by block with dask, so memory
holds a few blocks whatever the size.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr

from .._errors import WriteError
from ..checks._validate import validate
from ..store._objects import Objects, is_url, is_zip, open_objects
from ..store._source import open_group
from ..store._write import _exists, _has_root, write_beside
from ._metadata import image_label_attrs, labels_attrs, multiscales_attrs
from ._plan import GroupPlan, ImagePlan, plan_view
from ._pyramid import reduce_block

__all__ = ["OME_VIEW_ATTRIBUTE", "OME_VIEW_FORMAT", "OmeExport", "export_ome_zarr"]

OME_VIEW_FORMAT = "fusion-ome/1"
OME_VIEW_ATTRIBUTE = "fusion_ome_view"
"""The view's root attribute: what it was made from and where each image lies."""

Progress = Callable[[int, int], None]


@dataclass
class OmeExport:
    """What `export_ome_zarr` wrote."""

    destination: str
    images: dict[str, int] = field(default_factory=dict)
    """Image path in the view → its number of levels."""
    copied_bytes: int = 0
    """Bytes of level-0 objects copied as they are."""
    seconds: float = 0.0


def export_ome_zarr(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    source_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> OmeExport:
    """Write the OME-Zarr 0.5 view of the dataset at ``source`` to ``destination``.

    Parameters
    ----------
    source
        A fused dataset: folder, ``.zip`` or fsspec URL. Its metadata must conform.
    destination
        A folder (written beside and moved into place when complete) or a writable fsspec
        URL; not a ``.zip`` (OME readers open zip stores poorly: zip the folder afterwards).
    overwrite
        Replace an existing store at ``destination``.
    storage_options, source_options
        fsspec options for the destination and the source URL.
    progress
        Called as ``progress(bytes_done, bytes_total)``, in uncompressed bytes of the levels.

    Raises
    ------
    SchemaError
        The source does not conform (its findings are named); nothing is written.
    WriteError
        The destination exists (without ``overwrite``), is a zip, or the write failed; a local
        destination is then as it was.
    """
    started = time.perf_counter()
    where, target = os.fspath(source), os.fspath(destination)
    if is_zip(target):
        raise WriteError(f"{target}: write the OME view to a folder or URL, then zip it")
    validate(where, level="metadata", storage_options=source_options).raise_for_errors()
    root = open_group(where, source_options)
    plans = plan_view(root)
    record = _view_record(where, root, plans)
    result = OmeExport(destination=target)
    work = _Work(plans, progress)
    objects = open_objects(where, source_options)
    source_objects = _Listed.of(objects)
    if is_url(target):
        store = zarr.storage.FsspecStore.from_url(
            target, storage_options=dict(storage_options or {})
        )
        if _has_root(store) and not overwrite:
            raise _exists(target)
        _write_view(store, open_objects(target, storage_options), source_objects, root,
                    plans, record, result, work)  # fmt: skip
    else:
        _write_local(Path(target), overwrite, source_objects, root, plans, record, result, work)
    result.seconds = time.perf_counter() - started
    return result


def _write_local(dest: Path, overwrite: bool, *args: Any) -> None:
    def fill(partial: Path) -> Path:
        _write_view(zarr.storage.LocalStore(partial), open_objects(partial), *args)
        return partial

    write_beside(dest, overwrite, fill)


@dataclass
class _Listed:
    """The source's objects, listed once and grouped by array (``GROUP/CHANNEL``)."""

    objects: Objects
    by_array: dict[str, list[str]]

    @classmethod
    def of(cls, objects: Objects) -> _Listed:
        by_array: dict[str, list[str]] = {}
        for key in sorted(objects.keys()):
            parts = key.split("/", 2)
            if len(parts) == 3 and not key.endswith("fusion_chunks.json"):
                by_array.setdefault(f"{parts[0]}/{parts[1]}", []).append(key)
        return cls(objects, by_array)


class _Work:
    """Progress over every level of every image, in uncompressed bytes."""

    def __init__(self, plans: list[GroupPlan], progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.total = sum(
            _nbytes(shape) for plan in plans for image in plan.images for shape in image.shapes
        )

    def add(self, nbytes: int) -> None:
        self.done += nbytes
        if self.progress is not None:
            self.progress(self.done, self.total)


def _nbytes(shape: tuple[int, ...]) -> int:
    return math.prod(shape) * 4  # a common scale for every dtype: progress, not accounting


def _write_view(
    store: zarr.abc.store.Store,
    objects: Objects,
    source: _Listed,
    root: zarr.Group,
    plans: list[GroupPlan],
    record: dict[str, Any],
    result: OmeExport,
    work: _Work,
) -> None:
    """Every group and level, then the root's record last (a view without it is unfinished)."""
    view = zarr.open_group(store, mode="w", zarr_format=3)
    for plan in plans:
        view.create_group(plan.name, attributes={"description": f"scale group {plan.name}"})
        labels_of = plan.labels_of
        for image in plan.images:
            group = view.create_group(image.path, attributes=_image_attrs(plan, image))
            names = labels_of.get(image.path)
            if names:
                view.create_group(f"{image.path}/labels", attributes=labels_attrs(names))
            _write_levels(group, image, plan, root, source, objects, result, work)
            result.images[image.path] = len(image.shapes)
    view.attrs[OME_VIEW_ATTRIBUTE] = record


def _image_attrs(plan: GroupPlan, image: ImagePlan) -> dict[str, Any]:
    attrs = multiscales_attrs(
        name=image.channel,
        shape0=plan.shape,
        voxel_um=plan.voxel_um,
        origin_um=plan.origin_um,
        levels=len(image.shapes),
        reduction=image.reduction,
        channel_axis=image.channel_dim is not None,
    )
    if image.role == "label":
        attrs["ome"]["image-label"] = image_label_attrs(image.attrs, has_parent=image.has_parent)
    return attrs


def _write_levels(
    group: zarr.Group,
    image: ImagePlan,
    plan: GroupPlan,
    root: zarr.Group,
    source: _Listed,
    objects: Objects,
    result: OmeExport,
    work: _Work,
) -> None:
    array = root[image.source_key]
    if image.channel_dim is None:
        result.copied_bytes += _copy_array(source, image.source_key, objects, f"{image.path}/0")
    else:
        _write_channel_first(group, array)
    work.add(_nbytes(image.shapes[0]))
    chunks = tuple(array.shards or array.chunks)[:3]
    for level in range(1, len(image.shapes)):
        previous = group[str(level - 1)]
        _write_level(group, str(level), previous, image, chunks, plan)
        work.add(_nbytes(image.shapes[level]))


def _copy_array(source: _Listed, key: str, target: Objects, path: str) -> int:
    """Copy one array's objects as they are (not its chunk manifest, which is the dataset's)."""
    prefix = f"{key}/"
    keys = source.by_array.get(key, [])
    copied = 0
    for start in range(0, len(keys), 256):
        batch = source.objects.read_many(keys[start : start + 256])
        for name, data in batch.items():
            if data is None:
                raise WriteError(f"{source.objects.location}: {name} vanished while it was copied")
            target.write(f"{path}/{name[len(prefix) :]}", data)
            copied += len(data)
    return copied


def _write_channel_first(group: zarr.Group, array: zarr.Array) -> None:
    """A (z, y, x, D) channel as level 0 on (c, z, y, x), D whole in each chunk."""
    data = da.from_zarr(array).transpose(3, 0, 1, 2)
    spatial = tuple(array.chunks)[:3]
    chunks = (array.shape[3], *spatial)
    target = _create_level(group, "0", data.shape, array.dtype, chunks, ("c", "z", "y", "x"))
    target.attrs.update(array.attrs.asdict())  # as a copied level 0 keeps them
    da.store(data.rechunk(chunks), target, lock=False)


def _write_level(
    group: zarr.Group,
    name: str,
    previous: zarr.Array,
    image: ImagePlan,
    chunks: tuple[int, ...],
    plan: GroupPlan,
) -> None:
    lead = 1 if image.channel_dim is not None else 0
    halve = [False] * lead + [n > 1 for n in plan.shape]
    out_chunks = tuple(previous.shape[:lead]) + tuple(
        min(c, n) for c, n in zip(chunks, image.shapes[int(name)], strict=True)
    )
    source = da.from_zarr(previous)
    source = source.rechunk(
        tuple(c * 2 if h else c for c, h in zip(out_chunks, halve, strict=True))
    )
    reduced = source.map_blocks(
        _reduce_in_slabs,
        halve,
        image.reduction,
        image.flag_values,
        dtype=previous.dtype,
        chunks=tuple(
            tuple(math.ceil(b / 2) if h else b for b in blocks)
            for blocks, h in zip(source.chunks, halve, strict=True)
        ),
    )
    dims = ("c", "z", "y", "x") if lead else ("z", "y", "x")
    target = _create_level(group, name, reduced.shape, previous.dtype, out_chunks, dims)
    da.store(reduced, target, lock=False)


SLAB_PLANES = 32
"""Planes of a block reduced at a time: the temporaries of `reduce_block` (a regrouped copy,
one mask per flag value) then take a few slabs' worth of memory, not a few blocks'."""


def _reduce_in_slabs(
    block: np.ndarray, halve: list[bool], reduction: Any, flags: list[int] | None
) -> np.ndarray:
    """`reduce_block` of ``block``, `SLAB_PLANES` planes (an even number) at a time along
    its first halved axis."""
    axis = halve.index(True) if True in halve else None
    if axis is None or block.shape[axis] <= SLAB_PLANES:
        return reduce_block(block, halve, reduction, flags)
    index = [slice(None)] * block.ndim
    parts = []
    for start in range(0, block.shape[axis], SLAB_PLANES):
        index[axis] = slice(start, start + SLAB_PLANES)
        parts.append(reduce_block(block[tuple(index)], halve, reduction, flags))
    return np.concatenate(parts, axis=axis)


def _create_level(
    group: zarr.Group,
    name: str,
    shape: tuple[int, ...],
    dtype: Any,
    chunks: tuple[int, ...],
    dims: tuple[str, ...],
) -> zarr.Array:
    dtype = np.dtype(dtype)
    fill = np.nan if dtype.kind == "f" else 0
    return group.create_array(
        name, shape=shape, dtype=dtype, chunks=chunks, dimension_names=dims, fill_value=fill
    )


def _view_record(location: str, root: zarr.Group, plans: list[GroupPlan]) -> dict[str, Any]:
    """The root attribute `OME_VIEW_ATTRIBUTE`: the source, each group's placement (from its
    coordinates) and each image's channel, role, reduction and number of levels."""
    fusion = dict(root.attrs.get("fusion", {}))
    groups = {
        plan.name: {
            "shape": list(plan.shape),
            "voxel_size_um": list(plan.voxel_um),
            "origin_um": list(plan.origin_um),
            "assumed_axes": plan.assumed_axes,
            **({"channel_values": plan.channel_values} if plan.channel_values else {}),
            **({"channel_attrs": plan.channel_attrs} if plan.channel_attrs else {}),
        }
        for plan in plans
    }
    images = {
        image.path: {
            "group": image.group,
            "channel": image.channel,
            "role": image.role,
            "reduction": image.reduction,
            "levels": len(image.shapes),
            **({"channel_dim": image.channel_dim} if image.channel_dim else {}),
            **({"flag_values": image.flag_values} if image.flag_values is not None else {}),
        }
        for plan in plans
        for image in plan.images
    }
    return json.loads(json.dumps({
        "format": OME_VIEW_FORMAT,
        "source": location if is_url(location) else os.path.abspath(location),
        "source_schema": fusion.get("schema"),
        "title": fusion.get("title"),
        "groups": groups,
        "images": images,
    }))  # fmt: skip
