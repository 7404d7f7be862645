"""One view of a dataset for the checks, whatever it came from.

A target is a local path, an fsspec URL, a ``zarr.Group`` or an ``xarray.DataTree``. Each is
turned into a tree of `GroupNode` / `ArrayNode`: metadata held in memory, array values read on
demand, block by block, so the checks never care where the bytes live.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.abc.store import Store

__all__ = [
    "ArrayNode",
    "GroupNode",
    "ZarrReader",
    "describe_target",
    "open_group",
    "tree_from_target",
]

Reader = Callable[[tuple[slice, ...]], np.ndarray]


@dataclass(frozen=True)
class ZarrReader:
    """Reads blocks of one zarr array; pickles with the array's store, so a cluster's workers
    read through it themselves."""

    array: zarr.Array

    def __call__(self, sel: tuple[slice, ...]) -> np.ndarray:
        return np.asarray(self.array[sel])

    def through(self, wrap: Callable[[Store], Store]) -> ZarrReader:
        """The same array read through ``wrap(store)``; its metadata is not read again."""
        where = self.array.store_path
        store_path = zarr.storage.StorePath(wrap(where.store), where.path)
        return ZarrReader(zarr.Array(zarr.AsyncArray(self.array.metadata, store_path)))


@dataclass
class ArrayNode:
    """An array's metadata and a way to read blocks of it."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype | None
    dims: tuple[str, ...] | None
    attrs: Mapping[str, Any]
    block_shape: tuple[int, ...]
    """Shape of the natural read unit (a chunk or shard); reads are aligned to it."""
    read: Reader
    is_coordinate: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def nbytes(self) -> int:
        itemsize = self.dtype.itemsize if self.dtype is not None else 1
        return int(np.prod(self.shape, dtype=np.int64)) * itemsize


@dataclass
class GroupNode:
    """A group's attributes, arrays and sub-groups."""

    path: str
    attrs: Mapping[str, Any]
    arrays: dict[str, ArrayNode] = field(default_factory=dict)
    groups: dict[str, GroupNode] = field(default_factory=dict)
    zarr_format: int | None = None
    consolidated_mismatches: list[tuple[str, str]] = field(default_factory=list)
    """``(path, what differs)`` between consolidated metadata and the nodes' own documents."""


SUPPORTED_TARGETS = (str, os.PathLike, zarr.Group, xr.DataTree, xr.Dataset)


def describe_target(target: object) -> str:
    """A short name for a target, for messages."""
    if isinstance(target, str | os.PathLike):
        return os.fspath(target)
    if isinstance(target, zarr.Group):
        return f"zarr group {target.store_path}"
    if isinstance(target, xr.DataTree):
        return f"DataTree {target.name or '/'}"
    return type(target).__name__


def open_group(
    target: str | os.PathLike[str] | zarr.Group,
    storage_options: Mapping[str, Any] | None = None,
    *,
    use_consolidated: bool | None = None,
) -> zarr.Group:
    """Open a path, fsspec URL or zip file read-only as a zarr group.

    Raises whatever zarr or fsspec raise when the target cannot be opened.
    """
    if isinstance(target, zarr.Group):
        return target
    location = os.fspath(target)
    if location.endswith(".zip") and "://" not in location:
        if not os.path.isfile(location):
            raise FileNotFoundError(location)
        store: Any = zarr.storage.ZipStore(location, mode="r")
    elif "://" in location:
        store = zarr.storage.FsspecStore.from_url(
            location, storage_options=dict(storage_options or {}), read_only=True
        )
    else:
        if os.path.isfile(location):
            raise NotADirectoryError(
                f"{location} is a file, not a Zarr store folder (zipped stores must end in .zip)"
            )
        if not os.path.isdir(location):
            raise FileNotFoundError(f"no such folder: {location}")
        store = zarr.storage.LocalStore(location, read_only=True)
    return zarr.open_group(store, mode="r", use_consolidated=use_consolidated)


def tree_from_target(target: object, storage_options: Mapping[str, Any] | None = None) -> GroupNode:
    """Build the node tree of any supported target. Raises if it cannot be opened."""
    if isinstance(target, xr.DataTree):
        return _tree_from_datatree(target)
    if isinstance(target, xr.Dataset):
        return _tree_from_datatree(xr.DataTree(dataset=target))
    group = open_group(target, storage_options)
    if group.store.supports_listing:
        fresh = open_group(target, storage_options, use_consolidated=False)
        tree = _tree_from_zarr(fresh)
        tree.consolidated_mismatches = _compare_consolidated(group, tree)
        return tree
    return _tree_from_zarr(group)


# -- zarr -------------------------------------------------------------------------------------


def _tree_from_zarr(group: zarr.Group) -> GroupNode:
    root = GroupNode(path="/", attrs=dict(group.attrs), zarr_format=group.metadata.zarr_format)
    nodes: dict[str, GroupNode] = {"": root}
    # parents before children, then by name: stores list members in no fixed order (zarr
    # lists concurrently), and the report's findings must come in the same order every time
    members = sorted(group.members(max_depth=None), key=lambda kv: (kv[0].count("/"), kv[0]))
    for key, member in members:
        parent_key, _, name = key.rpartition("/")
        parent = nodes.get(parent_key)
        if parent is None:  # pragma: no cover - members() lists parents first
            continue
        path = "/" + key
        if isinstance(member, zarr.Group):
            node = GroupNode(path=path, attrs=dict(member.attrs))
            parent.groups[name] = node
            nodes[key] = node
        else:
            parent.arrays[name] = _array_node_from_zarr(path, member)
    _mark_coordinates(root)
    return root


def _array_node_from_zarr(path: str, array: zarr.Array) -> ArrayNode:
    attrs = dict(array.attrs)
    if array.metadata.zarr_format == 3:
        names = array.metadata.dimension_names
        dims = tuple(names) if names is not None and None not in names else None
    else:
        raw = attrs.get("_ARRAY_DIMENSIONS")
        dims = tuple(raw) if isinstance(raw, list) else None
    try:
        dtype: np.dtype | None = np.dtype(array.dtype)
    except TypeError:
        dtype = None
    block = array.shards if getattr(array, "shards", None) else array.chunks
    return ArrayNode(
        path=path,
        shape=tuple(array.shape),
        dtype=dtype,
        dims=dims,
        attrs=attrs,
        block_shape=tuple(block),
        read=ZarrReader(array),
    )


def _compare_consolidated(group: zarr.Group, fresh: GroupNode) -> list[tuple[str, str]]:
    consolidated = getattr(group.metadata, "consolidated_metadata", None)
    if consolidated is None:
        return []
    mismatches: list[tuple[str, str]] = []
    if dict(group.metadata.attributes) != dict(fresh.attrs):
        mismatches.append(("/", "attributes"))
    seen = set()
    for key, meta in consolidated.flattened_metadata.items():
        seen.add(key)
        node = _find(fresh, key)
        if node is None:
            mismatches.append(("/" + key, "listed in consolidated metadata but absent"))
            continue
        if dict(meta.attributes) != dict(node.attrs):
            mismatches.append(("/" + key, "attributes"))
        if isinstance(node, ArrayNode) and tuple(getattr(meta, "shape", ())) != node.shape:
            mismatches.append(("/" + key, "shape"))
    for path in _all_paths(fresh):
        if path.lstrip("/") not in seen:
            mismatches.append((path, "absent from consolidated metadata"))
    return mismatches


def _find(root: GroupNode, key: str) -> GroupNode | ArrayNode | None:
    node: GroupNode | ArrayNode | None = root
    for part in key.split("/"):
        if not isinstance(node, GroupNode):
            return None
        node = node.groups.get(part) or node.arrays.get(part)
    return node


def _all_paths(group: GroupNode) -> Iterator[str]:
    for array in group.arrays.values():
        yield array.path
    for child in group.groups.values():
        yield child.path
        yield from _all_paths(child)


def _mark_coordinates(group: GroupNode) -> None:
    """Mark dimension coordinates and arrays listed in xarray's ``coordinates`` attribute: on
    an array, or on the group for non-index coordinates that share no dims with any array."""
    named: set[str] = set()
    for attrs in (group.attrs, *(array.attrs for array in group.arrays.values())):
        listed = attrs.get("coordinates")
        if isinstance(listed, str):
            named.update(listed.split())
    for name, array in group.arrays.items():
        array.is_coordinate = name in named or array.dims == (name,)
    for child in group.groups.values():
        _mark_coordinates(child)


# -- xarray -----------------------------------------------------------------------------------


def _tree_from_datatree(tree: xr.DataTree) -> GroupNode:
    ds = tree.to_dataset(inherit=False)
    node = GroupNode(path=tree.path, attrs=dict(tree.attrs), zarr_format=3)
    for name, variable in ds.variables.items():
        key = str(name)
        path = f"{tree.path.rstrip('/')}/{key}"
        node.arrays[key] = _array_node_from_variable(path, variable, key in ds.coords)
    for name, child in tree.children.items():
        node.groups[str(name)] = _tree_from_datatree(child)
    return node


def _array_node_from_variable(path: str, variable: xr.Variable, is_coord: bool) -> ArrayNode:
    try:
        dtype: np.dtype | None = np.dtype(variable.dtype)
    except TypeError:
        dtype = None
    if variable.chunks is not None:
        block = tuple(int(c[0]) if len(c) else 1 for c in variable.chunks)
    else:
        block = tuple(variable.shape)
    return ArrayNode(
        path=path,
        shape=tuple(int(n) for n in variable.shape),
        dtype=dtype,
        dims=tuple(str(d) for d in variable.dims),
        attrs=dict(variable.attrs),
        block_shape=block,
        read=lambda sel, _v=variable: np.asarray(_v[sel].values),
        is_coordinate=is_coord,
    )
