"""Open a fused dataset with plain xarray and list its voxel channels.

A voxel channel is a data variable whose first three dimensions are ``z, y, x`` (with or without
a channel dimension after them: ``quat``, ``element``, ``energy_loss``), in any group of the tree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from fusion.schema import SchemaError, UnreadableStoreError, open_group

__all__ = ["SPATIAL_DIMS", "Channel", "open_tree", "voxel_channels"]

SPATIAL_DIMS = ("z", "y", "x")


@dataclass(frozen=True)
class Channel:
    """One voxel channel and the scale group it lives in."""

    group: str
    """Path of the group, e.g. ``/particle``."""
    name: str
    dataset: xr.Dataset

    @property
    def data(self) -> xr.DataArray:
        return self.dataset[self.name]

    @property
    def path(self) -> str:
        return f"{self.group.rstrip('/')}/{self.name}"


def open_tree(
    location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> xr.DataTree:
    """The dataset at a folder, ``.zip`` or fsspec URL, opened lazily by plain xarray."""
    try:
        store = open_group(location, storage_options).store
        return xr.open_datatree(store, engine="zarr")
    except (OSError, ValueError, KeyError) as err:
        raise UnreadableStoreError(
            f"{os.fspath(location)}: cannot open as a Zarr store: {err}"
        ) from err


def voxel_channels(
    tree: xr.DataTree, groups: Sequence[str] | None = None, source: str = "the dataset"
) -> list[Channel]:
    """Every voxel channel of the chosen groups (default: all), in tree order.

    ``groups`` are group names or paths (``particle`` or ``/particle``). Raises `SchemaError`,
    naming ``source``, when a named group has no voxel channels or does not exist, or when the
    dataset has none at all.
    """
    found: dict[str, list[Channel]] = {}
    for node in tree.subtree:
        dataset = node.to_dataset(inherit=False)
        names = [
            str(name)
            for name, variable in dataset.data_vars.items()
            if tuple(variable.dims[:3]) == SPATIAL_DIMS
        ]
        if names:
            dataset = node.to_dataset(inherit=True)
            missing = [dim for dim in SPATIAL_DIMS if dim not in dataset.coords]
            if missing:
                raise SchemaError(
                    f"{source}: group {node.path} has no {', '.join(missing)} coordinate: "
                    "voxel positions in µm are needed to draw it"
                )
            found[node.path] = [Channel(node.path, name, dataset) for name in names]
    if groups is None:
        if not found:
            raise SchemaError(f"{source}: no voxel channels (data variables on z, y, x) to show")
        return [channel for channels in found.values() for channel in channels]
    chosen = []
    for group in groups:
        path = group if group.startswith("/") else f"/{group}"
        if path not in found:
            raise SchemaError(
                f"{source}: group {group!r} has no voxel channels; groups with them: "
                f"{sorted(found) or 'none'}"
            )
        chosen += found[path]
    return chosen
