"""Reading a source file out of a loaded tree's provenance, and adding a transfer to a tree.

A loaded instrument file carries a ``file`` entity (name, sha256, size) and the activities
that made its channels. `source_file` follows a channel back to that entity; `extend` copies
the entity into the target tree and records (`fusion.schema.provenance.record`) one
``transfer`` activity that used it and wrote the new channels, returning a new tree (the
input is not changed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from fusion.schema import unique_id
from fusion.schema.provenance import entity_id_for, now, provenance_of, record

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
    activity_id = unique_id(activity, provenance_of(tree)["activities"])
    stem = re.sub(r"[^A-Za-z0-9_.:@-]+", "_", source.name).strip("_.") or "file"
    entity_id = entity_id_for(tree, source.entity, f"file:{stem}"[:120])
    known = entity_id in provenance_of(tree)["entities"]  # the same bytes, recorded already
    new = tree.copy(deep=False)
    ds = new[group].to_dataset(inherit=False)
    ds = ds.assign_coords(coords)
    for name, variable in channels.items():
        ds[name] = variable.copy(deep=False)
        ds[name].attrs["provenance"] = activity_id
    new[group] = xr.DataTree(ds)
    return record(
        new,
        "transfer",
        activity_id=activity_id,
        software="fusion-transfer",
        started=started,
        parameters=dict(parameters),
        used=[entity_id, *(f"/{group}/{name}" for name in used_channels)],
        generated=[f"/{group}/{name}" for name in channels],
        entities={} if known else {entity_id: source.entity},
        description=description,
    )
