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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

from ._data_checks import bounded_map
from ._errors import ChunkMismatchError, UnreadableStoreError, WriteError
from ._manifest import (
    MANIFEST_NAME,
    ChunkDigest,
    ChunkManifest,
    ManifestError,
    array_of,
    decode_manifest,
    digest,
    encode_manifest,
    is_chunk_key,
    manifest_key,
    manifests_for,
)
from ._metadata_checks import INCOMPLETE_MARKER
from ._objects import Objects, is_url, is_zip, open_objects

__all__ = ["PushResult", "push"]

ROOT = "zarr.json"
WORKERS = 8
"""Objects in flight at once (each is read, written and read back by one worker)."""
LISTED = 5

Progress = Callable[[int, int], None]
State = Literal["absent", "incomplete", "complete", "foreign"]


@dataclass(frozen=True)
class PushResult:
    """What a push did. ``verified_only``: the destination already held the dataset, every
    object was compared and nothing was written."""

    destination: str
    objects: int
    """Objects of the dataset at the destination, manifests included."""
    bytes: int
    uploaded: int = 0
    kept: int = 0
    """Objects already at the destination with the source's bytes (a resumed push)."""
    deleted: int = 0
    """Objects at the destination that the source does not hold, removed."""
    resumed: bool = False
    verified_only: bool = False
    archive: ChunkDigest | None = None
    """Size and SHA-256 of the zip file, for zip destinations (the registry pins these)."""


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
        from ._push_zip import push_zip

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
        raise WriteError(
            f"{dest} holds {len(existing)} object(s) but no fusion dataset; pass "
            "overwrite=True (--overwrite) to replace them"
        )
    return _transfer(dataset, target, existing, state == "incomplete", report)


# -- the source -------------------------------------------------------------------------------


@dataclass
class SourceDataset:
    """A complete store to copy: its objects, root document, arrays and manifests."""

    objects: Objects
    keys: list[str]
    """Every object to copy except the root ``zarr.json`` and the manifests: the metadata
    documents first (so that a stopped push leaves a navigable hierarchy), then the chunks."""
    sizes: dict[str, int | None]
    root: bytes
    arrays: list[str]
    manifests: dict[str, ChunkManifest]
    """The source's own manifests, against which each chunk read is checked."""

    @property
    def location(self) -> str:
        return self.objects.location

    @property
    def total_bytes(self) -> int:
        return sum(size or 0 for size in self.sizes.values())

    def read(self, key: str) -> tuple[bytes, ChunkDigest]:
        """An object's bytes and digest, checked against the source's manifest."""
        data = self.objects.read(key)
        if data is None:
            raise UnreadableStoreError(f"{self.location}: {key} vanished while it was copied")
        found = digest(data)
        prefix = array_of(key, self.manifests)
        manifest = self.manifests.get(prefix) if prefix is not None else None
        if manifest is not None and is_chunk_key(key):
            expected = manifest.chunks.get(key[len(prefix) + 1 :])
            if expected != found:
                raise ChunkMismatchError(
                    f"{self.location} is damaged: {key} does not match {manifest_key(prefix)} "
                    f"(expected {_short(expected)}, found {_short(found)}); fix the source "
                    "first (fusion validate --level data)"
                )
        return data, found


def read_source(location: str, options: Mapping[str, Any] | None) -> SourceDataset:
    """List and check the source: a Zarr v3 store, complete, its chunks as its manifests say."""
    try:
        objects = open_objects(location, options)
        sizes = objects.list()
        root = objects.read(ROOT)
    except OSError as err:
        raise UnreadableStoreError(f"cannot read {location}: {err}") from err
    if root is None:
        raise UnreadableStoreError(
            f"{location} is not a Zarr v3 store: no zarr.json at its root"
            + ("" if sizes else " (nothing there)")
        )
    attrs = _attributes(root, f"{location}/zarr.json")
    if INCOMPLETE_MARKER in attrs:
        raise UnreadableStoreError(
            f"{location} is marked incomplete ({attrs[INCOMPLETE_MARKER]!r}): a write to it did "
            "not finish; write it again before pushing"
        )
    arrays = _array_prefixes(objects, sizes)
    manifests = _source_manifests(objects, arrays)
    keys = sorted(
        (k for k in sizes if k != ROOT and k.rsplit("/", 1)[-1] != MANIFEST_NAME),
        key=lambda k: (is_chunk_key(k), k),
    )
    _check_against_manifests(location, keys, manifests)
    return SourceDataset(objects, keys, {k: sizes[k] for k in keys}, root, arrays, manifests)


def _attributes(document: bytes, where: str) -> dict[str, Any]:
    try:
        parsed = json.loads(document)
        attrs = parsed.get("attributes", {}) if isinstance(parsed, dict) else None
    except ValueError as err:
        raise UnreadableStoreError(f"{where} is not JSON: {err}") from err
    return attrs if isinstance(attrs, dict) else {}


def _array_prefixes(objects: Objects, sizes: Mapping[str, int | None]) -> list[str]:
    metadata = [key for key in sizes if key.endswith("/" + ROOT)]
    arrays = []
    for key, document in objects.read_many(metadata).items():
        try:
            node = json.loads(document or b"{}")
        except ValueError as err:
            raise UnreadableStoreError(f"{objects.location}/{key} is not JSON: {err}") from err
        if isinstance(node, dict) and node.get("node_type") == "array":
            arrays.append(key[: -len(ROOT) - 1])
    return sorted(arrays)


def _source_manifests(objects: Objects, arrays: list[str]) -> dict[str, ChunkManifest]:
    manifests = {}
    for key, data in objects.read_many(manifest_key(prefix) for prefix in arrays).items():
        if data is not None:
            try:
                manifests[key[: -len(MANIFEST_NAME) - 1]] = decode_manifest(data, key)
            except ManifestError as err:
                raise ChunkMismatchError(f"{objects.location} is damaged: {err}") from None
    return manifests


def _check_against_manifests(
    location: str, keys: list[str], manifests: Mapping[str, ChunkManifest]
) -> None:
    present = set(keys)
    missing = [
        f"{prefix}/{rel}"
        for prefix, manifest in manifests.items()
        for rel in manifest.chunks
        if f"{prefix}/{rel}" not in present
    ]
    if missing:
        raise ChunkMismatchError(
            f"{location} is damaged: {_names(sorted(missing))} listed in its chunk manifests "
            "but absent; nothing was pushed"
        )


# -- the destination --------------------------------------------------------------------------


def destination_state(target: Objects, existing: Mapping[str, int | None]) -> State:
    """absent (nothing there), incomplete (marked), complete, or foreign (not a dataset)."""
    if not existing:
        return "absent"
    root = target.read(ROOT) if ROOT in existing else None
    if root is None:
        return "foreign"
    try:
        attrs = _attributes(root, f"{target.location}/zarr.json")
    except UnreadableStoreError:
        return "foreign"
    return "incomplete" if INCOMPLETE_MARKER in attrs else "complete"


def expected_objects(
    dataset: SourceDataset, digests: Mapping[str, ChunkDigest]
) -> dict[str, bytes]:
    """The manifest objects the destination must hold, from the chunks' digests."""
    return {
        manifest_key(prefix): encode_manifest(manifest)
        for prefix, manifest in manifests_for(digests, dataset.arrays).items()
    }


def verify_copy(dataset: SourceDataset, target: Objects, progress: Progress) -> PushResult:
    """Compare a complete destination with the source, object by object; write nothing."""
    problems: list[str] = []
    digests: dict[str, ChunkDigest] = {}
    done, total = 0, dataset.total_bytes

    def compare(key: str) -> tuple[str, ChunkDigest, str | None]:
        _, expected = dataset.read(key)
        return key, expected, _difference(key, expected, target.read(key))

    with ThreadPoolExecutor(WORKERS) as pool:
        for key, expected, problem in bounded_map(pool, compare, dataset.keys, 2 * WORKERS):
            digests[key] = expected
            if problem:
                problems.append(problem)
            done += expected.size
            progress(done, total)
    wanted = {**expected_objects(dataset, digests), ROOT: dataset.root}
    for key, data in wanted.items():
        problem = _difference(key, digest(data), target.read(key))
        if problem:
            problems.append(problem)
    stray = sorted(set(target.list()) - set(dataset.keys) - set(wanted))
    problems.extend(f"{key} (not in the source)" for key in stray)
    if problems:
        raise ChunkMismatchError(
            f"{target.location} exists and differs from {dataset.location}: "
            f"{_names(problems)}; pass overwrite=True (--overwrite) to replace it"
        )
    return PushResult(
        target.location,
        objects=len(dataset.keys) + len(wanted),
        bytes=total,
        verified_only=True,
    )


def _difference(key: str, expected: ChunkDigest, data: bytes | None) -> str | None:
    if data is None:
        return f"{key} (missing)"
    found = digest(data)
    if found != expected:
        return f"{key} (expected {_short(expected)}, found {_short(found)})"
    return None


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
            f"push to {target.location}: {_names(problems)} read back different from "
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

    with ThreadPoolExecutor(WORKERS) as pool:
        for result in bounded_map(pool, copy, dataset.keys, 2 * WORKERS):
            copied.append(result)
            done += result.digest.size
            progress(done, total)


def _put(target: Objects, key: str, data: bytes) -> str | None:
    """Write one object and read it back; a description of the difference, if any."""
    target.write(key, data)
    return _difference(key, digest(data), target.read(key))


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


def _short(value: ChunkDigest | None) -> str:
    if value is None:
        return "no such chunk"
    return f"sha256 {value.sha256[:16]}…, {value.size} bytes"


def _names(items: Iterable[str]) -> str:
    items = list(items)
    more = f" and {len(items) - LISTED} more" if len(items) > LISTED else ""
    return ", ".join(items[:LISTED]) + more
