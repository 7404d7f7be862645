"""`render` (a dataset → a Figure) and `show` (a path or URL → a PNG file)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr
from matplotlib.figure import Figure

from ._channels import open_tree, voxel_channels
from ._figure import draw, save_png
from ._panels import Row, channel_row

__all__ = ["Shown", "render", "show"]


@dataclass(frozen=True)
class Shown:
    """What `show` wrote."""

    path: Path
    channels: list[str]
    """Paths of the channels drawn, one row each (``/particle/phase``)."""
    panels: int


def render(
    tree: xr.DataTree,
    groups: Sequence[str] | None = None,
    index: Sequence[int] | None = None,
    source: str = "the dataset",
) -> Figure:
    """Orthogonal slices of every voxel channel of ``tree`` (or of ``groups``) in one Figure.

    Parameters
    ----------
    tree
        A fused dataset as opened by xarray.
    groups
        Group names or paths to draw (default: every group with voxel channels).
    index
        Voxel index (z, y, x) the slices pass through (default: the centre of each group).
    source
        Name of the dataset in error messages.
    """
    return draw(_rows(tree, groups, index, source))


def show(
    location: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    groups: Sequence[str] | None = None,
    index: Sequence[int] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Shown:
    """Open a dataset (folder, ``.zip`` or fsspec URL) with xarray and write its slices as a PNG.

    Raises `fusion.schema.UnreadableStoreError` for a location that is not a Zarr store,
    `fusion.schema.SchemaError` when there is nothing to draw, `ShowError` for an index
    outside the volume and `fusion.schema.WriteError` when the PNG cannot be written.
    """
    rows = _rows(open_tree(location, storage_options), groups, index, os.fspath(location))
    path = save_png(draw(rows), output)
    return Shown(path, [row.path for row in rows], sum(len(row.panels) for row in rows))


def _rows(
    tree: xr.DataTree, groups: Sequence[str] | None, index: Sequence[int] | None, source: str
) -> list[Row]:
    return [channel_row(channel, index) for channel in voxel_channels(tree, groups, source)]
