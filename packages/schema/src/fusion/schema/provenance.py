"""The one way to record provenance: timestamps, entities, activities and the root skeleton.

Every producer (loaders, models, transfer, fuse, the example) records what it did here:

- `now` is the timestamp every activity uses (ISO 8601, UTC, milliseconds);
- `file_entity`, `model_entity` and `dataset_entity` build entity dicts;
- `new_root` is the root ``fusion`` attribute of a new dataset, with an empty graph;
- `record` returns a new tree with one activity added (entities and agents merged);
  `add_activity` does the same to a root ``fusion`` dict in place, for producers that build
  the root before the tree.

Everything is stored as the plain dicts the root attribute holds, validated through the
pydantic models of `fusion.schema.model.v0_1.provenance` as it is added. An activity holds
``type``, ``software``, ``started``, ``ended`` and, where given, ``parameters``, ``used``,
``generated``, ``agents`` and ``description`` (empty lists are left out: they are the
models' defaults).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import xarray as xr
from pydantic import ValidationError

from fusion.base import hash_file

from ._errors import SchemaError
from ._ids import unique_id
from .model._versions import LATEST, ROOT_MODELS
from .model.v0_1 import Activity, Agent, DatasetEntity, FileEntity, ModelEntity, parse_attrs
from .store._write_times import end_when_written

__all__ = [
    "SoftwareSpec",
    "Time",
    "add_activity",
    "dataset_entity",
    "entity_id_for",
    "file_entity",
    "model_entity",
    "new_root",
    "now",
    "provenance_of",
    "record",
    "software_info",
]

Time = str | dt.datetime
"""A time as stored (ISO 8601 text with a zone) or an aware datetime (stored UTC, ms)."""
SoftwareSpec = str | tuple[str, str] | Mapping[str, str]
"""A distribution name (its installed version is looked up), ``(name, version)``, or the
stored ``{"name", "version"}`` itself."""

_ENTITY_MODELS = {"file": FileEntity, "model": ModelEntity, "dataset": DatasetEntity}


def now() -> str:
    """The time, UTC, ISO 8601 with milliseconds: the timestamp of every activity.

    >>> len(now()), now().endswith("+00:00")
    (29, True)
    """
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _time(value: Time | None) -> str:
    if value is None:
        return now()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return value


def software_info(spec: SoftwareSpec) -> dict[str, str]:
    """The stored ``{"name", "version"}`` of a program.

    >>> software_info(("orix", "0.13.0"))
    {'name': 'orix', 'version': '0.13.0'}
    >>> software_info("fusion-schema")["name"]
    'fusion-schema'
    """
    if isinstance(spec, str):
        return {"name": spec, "version": _installed_version(spec)}
    if isinstance(spec, Mapping):
        return {"name": str(spec["name"]), "version": str(spec["version"])}
    name, ver = spec
    return {"name": str(name), "version": str(ver)}


@functools.cache
def _installed_version(distribution: str) -> str:
    try:
        return version(distribution)  # reads the installed metadata: ~5 ms, once per process
    except PackageNotFoundError as err:
        raise SchemaError(
            f"software {distribution!r} is not an installed distribution; pass "
            "(name, version) instead"
        ) from err


def file_entity(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    location: str | None = None,
    format: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """The entity of a file that was read: name, location, sha256, size and format.

    Parameters
    ----------
    path
        The file. Its bytes are hashed unless ``sha256`` is given, and its size read unless
        ``size`` is given (for bytes already in memory).
    name
        File name as recorded; by default the path's last part.
    location
        Where it was read; by default the resolved path.
    format
        File format as its reader names it, e.g. ``EDAX TSL .ang``.
    sha256
        The digest where the caller has it already.
    size
        The size in bytes where the caller has it already.

    Examples
    --------
    >>> e = file_entity("scan.ang", sha256="0" * 64, size=12, location="/data/scan.ang")
    >>> e["type"], e["name"], e["location"], e["size"], "format" in e
    ('file', 'scan.ang', '/data/scan.ang', 12, False)
    """
    path = Path(path)
    entity: dict[str, Any] = {
        "type": "file",
        "name": path.name if name is None else name,
        "location": str(path.resolve()) if location is None else location,
        "sha256": hash_file(path) if sha256 is None else sha256,
        "size": path.stat().st_size if size is None else int(size),
    }
    if format is not None:
        entity["format"] = format
    return _checked_entity("file", entity)


def model_entity(ref: str, sha256: str) -> dict[str, Any]:
    """The entity of a registered model that ran: ``model:name@version`` and its sha256.

    >>> model_entity("model:unet-nmc@0.1.0", "a" * 64)["ref"]
    'model:unet-nmc@0.1.0'
    """
    return _checked_entity("model", {"type": "model", "ref": ref, "sha256": sha256})


def dataset_entity(location: str, sha256: str | None = None) -> dict[str, Any]:
    """The entity of another dataset that was used (a path, URL or ``dataset:`` reference).

    >>> dataset_entity("s3://bucket/nmc.zarr")
    {'type': 'dataset', 'location': 's3://bucket/nmc.zarr'}
    """
    entity: dict[str, Any] = {"type": "dataset", "location": location}
    if sha256 is not None:
        entity["sha256"] = sha256
    return _checked_entity("dataset", entity)


def _checked_entity(kind: str, entity: dict[str, Any]) -> dict[str, Any]:
    try:
        parse_attrs(_ENTITY_MODELS[kind], entity)
    except ValidationError as err:
        raise SchemaError(f"{kind} entity {entity}: {_first(err)}") from err
    return entity


def new_root(
    title: str,
    *,
    description: str | None = None,
    license: str | None = None,
    sample: str | Mapping[str, Any] | None = None,
    created: Time | None = None,
    modified: Time | None = None,
    schema: str = LATEST,
) -> dict[str, Any]:
    """The root ``fusion`` attribute of a new dataset, with an empty provenance graph.

    Parameters
    ----------
    title
        Short human title of the dataset.
    description, license
        Stored where given.
    sample
        What was imaged: the ``sample`` mapping, or just its material; ``unspecified`` by
        default.
    created
        When the dataset came into being; `now` by default.
    modified
        By default ``created``; `record` moves it on with each activity.
    schema
        The format version declared; the latest by default.

    Examples
    --------
    >>> root = new_root("EBSD map", sample="NMC622", created="2026-01-01T00:00:00.000+00:00")
    >>> root["schema"], root["sample"], root["modified"], root["provenance"]["activities"]
    ('fusion/0.2', {'material': 'NMC622'}, '2026-01-01T00:00:00.000+00:00', {})
    """
    created = _time(created)
    root: dict[str, Any] = {"schema": schema, "title": title}
    if description is not None:
        root["description"] = description
    if license is not None:
        root["license"] = license
    if sample is None or isinstance(sample, str):
        sample = {"material": sample or "unspecified"}
    root |= {
        "sample": dict(sample),
        "created": created,
        "modified": created if modified is None else _time(modified),
        "provenance": {"entities": {}, "activities": {}, "agents": {}},
    }
    if schema not in ROOT_MODELS:
        raise SchemaError(f"expected a schema of {sorted(ROOT_MODELS)}, but got {schema!r}")
    try:
        parse_attrs(ROOT_MODELS[schema], root)
    except ValidationError as err:
        raise SchemaError(f"root attribute of {title!r}: {_first(err)}") from err
    return root


def provenance_of(tree: xr.DataTree | Mapping[str, Any]) -> dict[str, Any]:
    """The provenance graph (``entities``, ``activities``, ``agents``) of a tree or of a root
    ``fusion`` dict; the very dict stored, not a copy.

    Raises
    ------
    SchemaError
        There is no fusion root attribute with a provenance graph.
    """
    root = _root_of(tree) if isinstance(tree, xr.DataTree) else tree
    provenance = root.get("provenance")
    if not isinstance(provenance, dict):
        raise SchemaError(
            "the root fusion attribute has no provenance graph; start a dataset with "
            "fusion.schema.provenance.new_root(title, ...)"
        )
    for kind in ("entities", "activities", "agents"):
        provenance.setdefault(kind, {})
    return provenance


def _root_of(tree: xr.DataTree) -> dict[str, Any]:
    root = tree.attrs.get("fusion")
    if not isinstance(root, dict):
        raise SchemaError(
            "the tree's root group has no fusion attribute; build one with "
            "fusion.schema.provenance.new_root(title, ...) and put it under attrs['fusion']"
        )
    return root


def entity_id_for(
    tree: xr.DataTree | Mapping[str, Any], entity: Mapping[str, Any], stem: str
) -> str:
    """The id under which ``entity`` belongs in the graph: that of an entity already there
    with the same content (a file or model with the same sha256, or an equal entity), else
    ``stem`` made unique (``stem-2``, ...). Nothing is added.

    >>> root = new_root("t")
    >>> root["provenance"]["entities"]["m"] = model_entity("model:a@1.0.0", "a" * 64)
    >>> entity_id_for(root, model_entity("model:a@1.0.0", "a" * 64), "x")
    'm'
    >>> entity_id_for(root, model_entity("model:b@1.0.0", "b" * 64), "m")
    'm-2'
    """
    entities = provenance_of(tree)["entities"]
    for key, known in entities.items():
        if known == entity or (
            entity.get("type") in ("file", "model")
            and known.get("type") == entity.get("type")
            and known.get("sha256") == entity.get("sha256")
        ):
            return key
    return unique_id(stem, entities)


def record(
    tree: xr.DataTree,
    activity_type: str,
    *,
    activity_id: str | None = None,
    used: Iterable[str] = (),
    generated: Iterable[str] = (),
    parameters: Mapping[str, Any] | None = None,
    software: SoftwareSpec,
    started: Time | None = None,
    ended: Time | None = None,
    entities: Mapping[str, Mapping[str, Any]] | None = None,
    agents: Mapping[str, Mapping[str, Any]] | None = None,
    description: str | None = None,
    lazy: bool = False,
) -> xr.DataTree:
    """A new tree: ``tree`` with one activity added to its root's provenance.

    The input tree is not changed (its arrays are shared). Arguments are those of
    `add_activity`; ``lazy`` marks the activity to end when the tree is written
    (`fusion.schema.end_when_written`), for channels computed only then.

    Raises
    ------
    SchemaError
        The tree has no fusion root, the activity id is taken, an entity or agent id is taken
        by a different one, a reference dangles, or the activity does not conform.

    Examples
    --------
    >>> tree = xr.DataTree(xr.Dataset(attrs={"fusion": new_root("t")}))
    >>> out = record(tree, "derive", software=("me", "1"), parameters={"k": 3})
    >>> list(provenance_of(out)["activities"]), provenance_of(tree)["activities"]
    (['derive'], {})
    """
    root = copy.deepcopy(_root_of(tree))
    new_id = add_activity(
        root,
        activity_type,
        activity_id=activity_id,
        used=used,
        generated=generated,
        parameters=parameters,
        software=software,
        started=started,
        ended=ended,
        entities=entities,
        agents=agents,
        description=description,
    )
    out = tree.copy(deep=False)
    out.attrs = {**copy.deepcopy(dict(tree.attrs)), "fusion": root}
    return end_when_written(out, new_id) if lazy else out


def add_activity(
    root: dict[str, Any],
    activity_type: str,
    *,
    activity_id: str | None = None,
    used: Iterable[str] = (),
    generated: Iterable[str] = (),
    parameters: Mapping[str, Any] | None = None,
    software: SoftwareSpec,
    started: Time | None = None,
    ended: Time | None = None,
    entities: Mapping[str, Mapping[str, Any]] | None = None,
    agents: Mapping[str, Mapping[str, Any]] | None = None,
    description: str | None = None,
) -> str:
    """Add one activity to a root ``fusion`` dict in place; return its id.

    Parameters
    ----------
    root
        The root ``fusion`` attribute (`new_root`, or a tree's, copied).
    activity_type
        One of ``fusion.schema.model.v0_1.provenance.ACTIVITY_TYPES`` (``load``, ``segment``, ...).
    activity_id
        The id; by default ``activity_type`` made unique (``segment-2``, ...).
    used
        Entity ids and channel paths (``/group/channel``) the activity read.
    generated
        Channel paths the activity wrote.
    parameters
        Everything that changes the result, as JSON (stored as given; left out when None).
    software
        The program that ran: a distribution name, ``(name, version)`` or the stored dict.
    started, ended
        Times; `now` by default. The root's ``modified`` moves on to ``ended``.
    entities
        Entities to merge into the graph, id -> entity (an id already holding the same
        entity is shared).
    agents
        The agents responsible, id -> agent: merged into the graph like ``entities`` and
        listed in the activity's ``agents``.
    description
        Free text, stored where given.
    """
    provenance = provenance_of(root)
    activities = provenance["activities"]
    if activity_id is None:
        activity_id = unique_id(activity_type, activities)
    elif activity_id in activities:
        raise SchemaError(
            f"activity id {activity_id!r} is taken in the provenance graph (it has "
            f"{sorted(activities)}); leave activity_id out for a fresh one"
        )
    _merge(provenance["entities"], entities or {}, "entity", _ENTITY_MODELS)
    _merge(provenance["agents"], agents or {}, "agent", None)
    started = _time(started)
    activity = {"type": activity_type, "software": software_info(software),
                "started": started, "ended": _time(ended)}  # fmt: skip
    if parameters is not None:
        activity["parameters"] = copy.deepcopy(dict(parameters))
    for key, values in (("used", used), ("generated", generated), ("agents", agents or {})):
        if values := list(values):
            activity[key] = values
    if description is not None:
        activity["description"] = description
    _check_activity(activity_id, activity, provenance)
    activities[activity_id] = activity
    root["modified"] = _later(root.get("modified"), activity["ended"])
    return activity_id


def _merge(
    target: dict[str, Any], items: Mapping[str, Mapping[str, Any]], kind: str, models: Any
) -> None:
    """Add ``items`` to ``target`` after checking each; an equal item under its id is kept."""
    for key, item in items.items():
        item = copy.deepcopy(dict(item))
        if key in target:
            if target[key] != item:
                raise SchemaError(
                    f"{kind} id {key!r} is taken in the provenance graph by {target[key]}, "
                    f"not {item}"
                )
            continue
        model = Agent if models is None else models.get(item.get("type"), FileEntity)
        try:
            parse_attrs(model, item)
        except ValidationError as err:
            raise SchemaError(f"{kind} {key!r}: {_first(err)}") from err
        target[key] = item


def _check_activity(
    activity_id: str, activity: dict[str, Any], provenance: Mapping[str, Any]
) -> None:
    try:
        parse_attrs(Activity, activity)
    except ValidationError as err:
        raise SchemaError(f"activity {activity_id!r}: {_first(err)}") from err
    for ref in activity.get("used", []):
        if not ref.startswith("/") and ref not in provenance["entities"]:
            raise SchemaError(
                f"activity {activity_id!r} used {ref!r}, which is not an entity of the "
                f"provenance graph (it has {sorted(provenance['entities'])}); pass it in entities"
            )


def _later(recorded: Any, ended: str) -> str:
    try:
        if dt.datetime.fromisoformat(str(recorded)) > dt.datetime.fromisoformat(ended):
            return str(recorded)
    except ValueError:
        pass
    return ended


def _first(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
