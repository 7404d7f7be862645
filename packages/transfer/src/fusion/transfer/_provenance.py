"""Reading a source file out of a loaded tree's provenance, and adding a transfer to a tree.

A loaded instrument file carries a ``file`` entity (name, sha256, size) and the activities
that made its channels. `source_file` follows a channel back to that entity; `extend` copies
the entity into the target tree, records one ``transfer`` activity that used it and wrote the
new channels, and returns a new tree (the input is not changed).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import xarray as xr

from fusion.schema import unique_id

from ._errors import TransferError

__all__ = ["SourceFile", "extend", "now", "source_file", "title"]


@dataclass(frozen=True)
class SourceFile:
    """The file entity a channel traces back to."""

    entity_id: str
    entity: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.entity["name"])


def now() -> str:
    """The time, UTC, ISO 8601 with milliseconds (the loaders' format)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _provenance(tree: xr.DataTree) -> Mapping[str, Any]:
    fusion = tree.attrs.get("fusion")
    provenance = fusion.get("provenance") if isinstance(fusion, Mapping) else None
    if not isinstance(provenance, Mapping):
        raise TransferError(f"{title(tree)}: no fusion provenance on the root group")
    return provenance


def title(tree: xr.DataTree) -> str:
    """The dataset's title (a loaded file's name), for messages."""
    fusion = tree.attrs.get("fusion")
    return str(fusion.get("title", "dataset")) if isinstance(fusion, Mapping) else "dataset"


def source_file(tree: xr.DataTree, channel_path: str) -> SourceFile:
    """The one ``file`` entity that ``channel_path`` was made from, following ``used`` back
    through the activities (a ``convert`` after a ``load``, ...)."""
    provenance = _provenance(tree)
    entities = provenance.get("entities", {})
    activities = provenance.get("activities", {})
    found: dict[str, dict[str, Any]] = {}
    pending, seen = [channel_path], set()
    while pending:
        path = pending.pop()
        seen.add(path)
        for activity in activities.values():
            if path not in activity.get("generated", []):
                continue
            for ref in activity.get("used", []):
                if ref.startswith("/"):
                    pending.extend([ref] if ref not in seen else [])
                elif entities.get(ref, {}).get("type") == "file":
                    found[ref] = entities[ref]
    if len(found) != 1:
        names = sorted(str(e.get("name")) for e in found.values())
        raise TransferError(
            f"{title(tree)}: expected {channel_path} to trace back to one file entity in the "
            f"provenance, found {len(found)} {names}"
        )
    ((entity_id, entity),) = found.items()
    return SourceFile(entity_id, dict(entity))


def extend(
    tree: xr.DataTree,
    group: str,
    *,
    channels: Mapping[str, xr.Variable],
    coords: Mapping[str, xr.Variable],
    source: SourceFile,
    used_channels: Sequence[str],
    activity: str,
    parameters: Mapping[str, Any],
    started: str,
    description: str,
) -> xr.DataTree:
    """A new tree: ``tree`` with ``channels`` and ``coords`` added to ``group``, the source
    file's entity and a ``transfer`` activity that used it and generated the channels."""
    new = tree.copy(deep=False)
    new.attrs = copy.deepcopy(dict(tree.attrs))
    provenance = new.attrs["fusion"]["provenance"]
    entity_id = _entity_id(provenance.setdefault("entities", {}), source)
    activities = provenance.setdefault("activities", {})
    activity_id = unique_id(activity, activities)
    generated = [f"/{group}/{name}" for name in channels]
    ended = now()
    activities[activity_id] = {
        "type": "transfer",
        "software": {"name": "fusion-transfer", "version": version("fusion-transfer")},
        "started": started,
        "ended": ended,
        "parameters": dict(parameters),
        "used": [entity_id, *(f"/{group}/{name}" for name in used_channels)],
        "generated": generated,
        "description": description,
    }
    new.attrs["fusion"]["modified"] = ended
    ds = new[group].to_dataset(inherit=False)
    ds = ds.assign_coords(coords)
    for name, variable in channels.items():
        ds[name] = variable.copy(deep=False)
        ds[name].attrs["provenance"] = activity_id
    new[group] = xr.DataTree(ds)
    return new


def _entity_id(entities: dict[str, Any], source: SourceFile) -> str:
    """The id of the source file in ``entities``: an existing entry for the same bytes (same
    sha256), else a new one named after the file."""
    for entity_id, entity in entities.items():
        if entity.get("type") == "file" and entity.get("sha256") == source.entity["sha256"]:
            return entity_id
    stem = re.sub(r"[^A-Za-z0-9_.:@-]+", "_", source.name).strip("_.") or "file"
    entity_id = unique_id(f"file:{stem}"[:120], entities)
    entities[entity_id] = dict(source.entity)
    return entity_id
