"""Checks against the chunk manifests: at level ``data`` missing, changed and stray chunks;
at level ``metadata`` only missing ones, from one listing of the store (`check_listed`).

The digests of the chunks come from the value checks' own reads (each block task hashes the
chunks it reads through a `DigestStore`, here or on a cluster's worker, and returns their
digests), so each chunk is read once; only objects those checks did not read are fetched
here. A store
without any manifest (written before manifests existed, or by another writer) is not
checked here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import CorruptObjectError
from ..store._manifest import (
    ChunkDigest,
    ChunkManifest,
    ManifestError,
    array_of,
    decode_manifest,
    describe_digest,
    digest,
    is_chunk_key,
    list_keys,
    manifest_key,
)
from ..store._objects import Objects, open_objects
from ..store._source import GroupNode
from ._report import ValidationReport

__all__ = ["ChunkAudit", "check_chunks", "check_listed", "read_manifests"]

FETCH_BATCH = 64
"""Objects fetched at once for digests the value checks did not provide."""


class ChunkAudit:
    """The manifest checks of one path or URL: `start` once the node tree is known (reads the
    manifests; says whether the value checks should hash the chunks they read: only if there
    are manifests), let the value checks read every chunk, then `finish` with their digests."""

    def __init__(
        self, location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None
    ) -> None:
        self.location, self.storage_options = location, storage_options
        self.manifests: dict[str, ChunkManifest | None] = {}
        self.objects: Objects | None = None

    def start(self, root: GroupNode, report: ValidationReport) -> bool:
        self.objects = open_objects(self.location, self.storage_options)
        self.manifests = read_manifests(root, self.objects, report)
        return bool(self.manifests)

    def finish(
        self, root: GroupNode, seen: Mapping[str, ChunkDigest | None], report: ValidationReport
    ) -> None:
        if self.objects is not None:
            check_chunks(root, self.manifests, seen, self.objects, report)


def check_listed(
    location: str | os.PathLike[str],
    storage_options: Mapping[str, Any] | None,
    root: GroupNode,
    report: ValidationReport,
) -> None:
    """Report chunks listed in a manifest but absent, from one listing of the store.

    The listing (one ``find`` of the folder, zip or object store: paginated, never a lookup
    per chunk) says which manifests exist; only those are read. An array is checked only if
    its own ``zarr.json`` is in the listing, so a server that lists nothing (plain HTTP) or
    only part of the store never has its chunks reported missing; a store that cannot be
    listed at all is not checked here.
    """
    try:
        objects = open_objects(location, storage_options)
        listed = objects.keys()
    except OSError:
        return
    prefixes = [
        prefix
        for prefix in (array.path.strip("/") for array in _arrays(root))
        if f"{prefix}/zarr.json" in listed and manifest_key(prefix) in listed
    ]
    raw = objects.read_many(manifest_key(prefix) for prefix in prefixes)
    for prefix in prefixes:
        try:
            manifest = decode_manifest(raw[manifest_key(prefix)] or b"", manifest_key(prefix))
        except ManifestError as err:
            report.add("data.invalid-manifest", "/" + prefix, str(err))
            continue
        keys = (f"{prefix}/{rel}" for rel in sorted(manifest.chunks))
        _report_missing(prefix, [key for key in keys if key not in listed], report)


def read_manifests(
    root: GroupNode, objects: Objects, report: ValidationReport
) -> dict[str, ChunkManifest | None]:
    """The manifest of each array that has one (None where it cannot be parsed, reported);
    empty when the store has none (then nothing is checked against manifests)."""
    prefixes = [array.path.strip("/") for array in _arrays(root)]
    raw = objects.read_many(manifest_key(prefix) for prefix in prefixes)
    manifests: dict[str, ChunkManifest | None] = {}
    for prefix in prefixes:
        data = raw[manifest_key(prefix)]
        if data is None:
            continue
        try:
            manifests[prefix] = decode_manifest(data, manifest_key(prefix))
        except ManifestError as err:
            report.add("data.invalid-manifest", "/" + prefix, str(err))
            manifests[prefix] = None
    return manifests


def check_chunks(
    root: GroupNode,
    manifests: Mapping[str, ChunkManifest | None],
    seen: Mapping[str, ChunkDigest | None],
    objects: Objects,
    report: ValidationReport,
) -> None:
    """Compare every array's chunks with its manifest (from `read_manifests`).

    ``seen`` maps keys read so far to their digest (None: absent from the store); listed
    chunks not in it are fetched.
    """
    if not manifests:
        return
    prefixes = [array.path.strip("/") for array in _arrays(root)]
    for prefix in prefixes:
        if prefix not in manifests:
            report.add(
                "data.invalid-manifest",
                "/" + prefix,
                f"{manifest_key(prefix)} is missing while {len(manifests)} other array(s) have "
                "one; this array's chunks cannot be checked",
            )
    found = dict(seen)
    corrupt: dict[str, str] = {}
    found.update(_fetch_unseen(objects, manifests, seen, corrupt))
    by_array = _present_by_array(found, set(prefixes))
    for prefix, manifest in manifests.items():
        if manifest is not None:
            _compare(prefix, manifest, found, by_array.get(prefix, []), corrupt, report)


def _arrays(group: GroupNode) -> Iterator:
    yield from group.arrays.values()
    for child in group.groups.values():
        yield from _arrays(child)


def _fetch_unseen(
    objects: Objects,
    manifests: Mapping[str, ChunkManifest | None],
    seen: Mapping[str, ChunkDigest | None],
    corrupt: dict[str, str],
) -> dict[str, ChunkDigest | None]:
    """Digests of listed chunks the value checks did not read, fetched in small batches.

    Objects that cannot be read back as stored (a zip member failing its CRC-32) are put in
    ``corrupt`` with the reason instead.
    """
    unseen = [
        f"{prefix}/{key}"
        for prefix, manifest in manifests.items()
        if manifest is not None
        for key in manifest.chunks
        if f"{prefix}/{key}" not in seen
    ]
    out: dict[str, ChunkDigest | None] = {}
    for start in range(0, len(unseen), FETCH_BATCH):
        batch = unseen[start : start + FETCH_BATCH]
        try:
            got = objects.read_many(batch)
        except CorruptObjectError:
            got = {key: _read_one(objects, key, corrupt) for key in batch}
        for key, data in got.items():
            if key not in corrupt:
                out[key] = None if data is None else digest(data)
    return out


def _read_one(objects: Objects, key: str, corrupt: dict[str, str]) -> bytes | None:
    try:
        return objects.read(key)
    except CorruptObjectError as err:
        corrupt[key] = err.reason
        return None


def _present_by_array(
    found: Mapping[str, ChunkDigest | None], prefixes: set[str]
) -> dict[str, list[str]]:
    """Keys of chunks known to be stored, grouped by array."""
    by_array: dict[str, list[str]] = {}
    for key, value in found.items():
        if value is None or not is_chunk_key(key):
            continue
        prefix = array_of(key, prefixes)
        if prefix is not None:
            by_array.setdefault(prefix, []).append(key)
    return by_array


def _compare(
    prefix: str,
    manifest: ChunkManifest,
    found: Mapping[str, ChunkDigest | None],
    present: list[str],
    corrupt: Mapping[str, str],
    report: ValidationReport,
) -> None:
    where = manifest_key(prefix)
    missing, changed = [], []
    for rel, expected in sorted(manifest.chunks.items()):
        key = f"{prefix}/{rel}"
        got = found.get(key)
        if key in corrupt:
            changed.append(f"{key} ({corrupt[key]})")
        elif got is None:
            missing.append(key)
        elif got != expected:
            changed.append(
                f"{key} (expected {describe_digest(expected)}, found {describe_digest(got)})"
            )
    stray = sorted(key for key in present if key[len(prefix) + 1 :] not in manifest.chunks)
    _report_missing(prefix, missing, report)
    if changed:
        report.add(
            "data.corrupt-chunk",
            "/" + prefix,
            f"{_count(changed)} whose bytes differ from {where}: {list_keys(changed)}",
        )
    if stray:
        report.add(
            "data.corrupt-chunk",
            "/" + prefix,
            f"{_count(stray)} stored but not listed in {where} (the written dataset had the "
            f"fill value there): {list_keys(stray)}",
        )


def _report_missing(prefix: str, missing: list[str], report: ValidationReport) -> None:
    if missing:
        report.add(
            "data.missing-chunk",
            "/" + prefix,
            f"{_count(missing)} listed in {manifest_key(prefix)} but absent from the store (zarr "
            f"would read the fill value): {list_keys(missing)}",
        )


def _count(keys: list[str]) -> str:
    return "1 chunk" if len(keys) == 1 else f"{len(keys)} chunks"
