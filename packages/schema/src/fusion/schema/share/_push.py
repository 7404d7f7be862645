"""`push`: copy a dataset's objects to a folder, a zip file or an object store, and verify
every one of them by reading it back.

Objects are copied as they are (no chunk is decoded or re-encoded). On a folder or an object
store the destination's root ``zarr.json`` is written first, carrying ``fusion_incomplete``;
then every object is written and read back, the chunk manifests are written, and only when
all of it matched the source's SHA-256 is the source's own root ``zarr.json`` written, which
removes the marker: a push that stops anywhere leaves a store that does not validate. Run
again, it resumes: objects already there with the right bytes are kept. A zip destination
is built aside, verified, and moved (or uploaded as one object) into place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

from .._errors import ChunkMismatchError, UnreadableStoreError, WriteError, option_error
from .._scheduler import ordered_map
from ..checks._metadata import INCOMPLETE_MARKER
from ..store._manifest import ChunkDigest, digest, list_keys
from ..store._objects import Objects, is_url, is_zip, open_objects
from ._source import (
    ROOT,
    WORKERS,
    Progress,
    PushResult,
    SourceDataset,
    attributes,
    difference,
    expected_objects,
    read_source,
    verify_copy,
)
from ._zip import push_zip

__all__ = ["PushResult", "push"]

State = Literal["absent", "incomplete", "complete", "foreign"]


def push(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    source_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Copy the dataset at ``source`` to ``destination`` and verify every object there.

    Parameters
    ----------
    source
        Folder, ``.zip`` file or fsspec URL (``s3://``, ``https://``) of a complete store.
    destination
        Folder, ``.zip`` file (local, or a URL such as ``s3://bucket/x.zip``) or a writable
        fsspec URL (``s3://bucket/x.zarr``, ``memory://x.zarr``).
    overwrite
        Replace a complete dataset at the destination. Without it, a complete destination
        is only compared with the source (``verified_only``; `ChunkMismatchError` naming
        the objects that differ), and one marked incomplete is resumed.
    storage_options
        fsspec options of the destination URL (credentials, ``endpoint_url``).
    source_options
        fsspec options of the source URL; default: ``storage_options`` when both are URLs
        of the same protocol, else none.
    progress
        Called as ``progress(bytes_done, bytes_total)`` over the source's bytes.

    Raises
    ------
    ChunkMismatchError
        An object read back differs from the source (or a source chunk from its manifest);
        the message names the keys, e.g. ``particle/phase/c/0/1/0``.
    WriteError
        The destination cannot be written, or the push stopped; a folder or object store
        destination then stays marked incomplete, and the same push resumes it.
    UnreadableStoreError
        The source cannot be read, is not a Zarr v3 store, or is marked incomplete.
    """
    src_location, dest = os.fspath(source), os.fspath(destination)
    if _same_place(src_location, dest):
        raise WriteError(f"{dest} is the source itself: push to another location")
    if source_options is None:
        source_options = storage_options if _same_protocol(src_location, dest) else None
    dataset = read_source(src_location, source_options)
    report = progress or (lambda done, total: None)
    if is_zip(dest):
        return push_zip(dataset, dest, overwrite, storage_options, report)
    target = open_objects(dest, storage_options)
    if not target.writable:
        raise WriteError(
            f"{dest} cannot be written ({target.protocols[0]}:// is read-only): push to a "
            "folder, a .zip file or an object store"
        )
    existing = target.list()
    state = destination_state(target, existing)
    if state == "complete" and not overwrite:
        return verify_copy(dataset, target, report)
    if state == "foreign" and not overwrite:
        raise option_error(
            WriteError,
            f"{dest} holds {len(existing)} object(s) but no fusion dataset; pass {{overwrite}} "
            "to replace them",
            overwrite="True",
        )
    return _transfer(dataset, target, existing, state == "incomplete", report)


# -- the destination --------------------------------------------------------------------------


def destination_state(target: Objects, existing: Mapping[str, int | None]) -> State:
    """absent (nothing there), incomplete (marked), complete, or foreign (not a dataset)."""
    if not existing:
        return "absent"
    root = target.read(ROOT) if ROOT in existing else None
    if root is None:
        return "foreign"
    try:
        attrs = attributes(root, f"{target.location}/zarr.json")
    except UnreadableStoreError:
        return "foreign"
    return "incomplete" if INCOMPLETE_MARKER in attrs else "complete"


# -- the transfer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Copied:
    key: str
    digest: ChunkDigest
    uploaded: bool
    problem: str | None


def _transfer(
    dataset: SourceDataset,
    target: Objects,
    existing: Mapping[str, int | None],
    resumed: bool,
    progress: Progress,
) -> PushResult:
    target.write(ROOT, _marked(dataset.root))
    copied: list[_Copied] = []
    try:
        _copy_all(dataset, target, existing, progress, copied)
        wanted = expected_objects(dataset, {c.key: c.digest for c in copied})
        stray = sorted(set(existing) - set(dataset.keys) - set(wanted) - {ROOT})
        target.delete(stray)
        problems = [c.problem for c in copied if c.problem]
        problems += [p for p in (_put(target, k, d) for k, d in wanted.items()) if p]
    except (ChunkMismatchError, UnreadableStoreError, KeyboardInterrupt):
        raise
    except Exception as err:
        raise WriteError(
            f"push to {target.location} stopped after {len(copied)} of {len(dataset.keys)} "
            f"objects: {type(err).__name__}: {err}; the destination is marked incomplete: "
            "run the same push again to resume"
        ) from err
    if problems:
        raise ChunkMismatchError(
            f"push to {target.location}: {list_keys(problems)} read back different from "
            f"{dataset.location}; the destination stays marked incomplete: push again"
        )
    root_problem = _put(target, ROOT, dataset.root)
    if root_problem:
        raise ChunkMismatchError(f"push to {target.location}: {root_problem} read back wrong")
    return PushResult(
        target.location,
        objects=len(copied) + len(wanted) + 1,
        bytes=dataset.total_bytes,
        uploaded=sum(c.uploaded for c in copied),
        kept=sum(not c.uploaded for c in copied),
        deleted=len(stray),
        resumed=resumed,
        chunks=dataset.chunk_count,
        manifests=len(wanted),
    )


def _copy_all(
    dataset: SourceDataset,
    target: Objects,
    existing: Mapping[str, int | None],
    progress: Progress,
    copied: list[_Copied],
) -> None:
    """Copy every object, appending each result to ``copied`` as it completes."""
    done, total = 0, dataset.total_bytes
    progress(done, total)

    def copy(key: str) -> _Copied:
        data, expected = dataset.read(key)
        if key in existing and existing[key] in (None, expected.size):
            there = target.read(key)
            if there is not None and digest(there) == expected:
                return _Copied(key, expected, uploaded=False, problem=None)
        return _Copied(key, expected, uploaded=True, problem=_put(target, key, data))

    for result in ordered_map(copy, dataset.keys, threads=WORKERS, on_cluster=False):
        copied.append(result)
        done += result.digest.size
        progress(done, total)


def _put(target: Objects, key: str, data: bytes) -> str | None:
    """Write one object and read it back; a description of the difference, if any."""
    target.write(key, data)
    return difference(key, digest(data), target.read(key))


def _marked(root: bytes) -> bytes:
    document = json.loads(root)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    document.setdefault("attributes", {})[INCOMPLETE_MARKER] = (
        f"push started {stamp} by fusion-schema {version('fusion-schema')}"
    )
    return json.dumps(document, indent=2).encode()


def _same_place(a: str, b: str) -> bool:
    if is_url(a) or is_url(b):
        return a.rstrip("/") == b.rstrip("/")
    return os.path.abspath(a) == os.path.abspath(b)


def _same_protocol(a: str, b: str) -> bool:
    return is_url(a) and is_url(b) and a.split("://", 1)[0] == b.split("://", 1)[0]
