"""The source side of a push: the dataset to copy (`SourceDataset`, checked against its own
chunk manifests as it is read), what its copy must hold (`expected_objects`), the comparison
of an existing copy with it (`verify_copy`), and the result (`PushResult`). Shared by the
folder/object-store and the zip destinations."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ChunkMismatchError, CorruptObjectError, UnreadableStoreError, option_error
from .._scheduler import ordered_map
from ..checks._metadata import INCOMPLETE_MARKER
from ..store._manifest import (
    MANIFEST_NAME,
    ChunkDigest,
    ChunkManifest,
    ManifestError,
    array_of,
    decode_manifest,
    describe_digest,
    digest,
    encode_manifest,
    is_chunk_key,
    list_keys,
    manifest_key,
    manifests_for,
)
from ..store._objects import Objects, open_objects

__all__ = [
    "ROOT",
    "WORKERS",
    "Progress",
    "PushResult",
    "SourceDataset",
    "attributes",
    "difference",
    "expected_objects",
    "read_source",
    "verify_copy",
]

ROOT = "zarr.json"
WORKERS = 8
"""Objects in flight at once (each is read, written and read back by one worker)."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PushResult:
    """What a push did. ``verified_only``: the destination already held the dataset, every
    object was compared and nothing was written."""

    destination: str
    objects: int
    """Objects of the dataset at the destination, manifests included."""
    bytes: int
    uploaded: int = 0
    """Chunks and metadata documents copied (written); the manifests and the root
    ``zarr.json`` are written last, once every copy matched, and are not counted here."""
    kept: int = 0
    """Objects already at the destination with the source's bytes (a resumed push)."""
    deleted: int = 0
    """Objects at the destination that the source does not hold, removed."""
    resumed: bool = False
    verified_only: bool = False
    archive: ChunkDigest | None = None
    """Size and SHA-256 of the zip file, for zip destinations (the registry pins these)."""
    chunks: int = 0
    """How many of ``objects`` are chunks (the rest: metadata documents and manifests)."""
    manifests: int = 0
    """How many of ``objects`` are chunk manifests (``fusion_chunks.json``), one per array."""

    @property
    def metadata(self) -> int:
        """Metadata documents (``zarr.json`` of the root, groups and arrays) among ``objects``."""
        return self.objects - self.chunks - self.manifests


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
    def chunk_count(self) -> int:
        """How many of ``keys`` are chunks (the others are metadata documents)."""
        return sum(is_chunk_key(key) for key in self.keys)

    @property
    def total_bytes(self) -> int:
        return sum(size or 0 for size in self.sizes.values())

    def read(self, key: str) -> tuple[bytes, ChunkDigest]:
        """An object's bytes and digest, checked against the source's manifest."""
        try:
            data = self.objects.read(key)
        except CorruptObjectError as err:
            raise CorruptObjectError(
                f"{err}; fix the source first (fusion validate --level data)", err.key, err.reason
            ) from err
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
                    f"(expected {describe_digest(expected)}, found {describe_digest(found)}); fix the source "
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
    attrs = attributes(root, f"{location}/zarr.json")
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


def attributes(document: bytes, where: str) -> dict[str, Any]:
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
            f"{location} is damaged: {list_keys(sorted(missing))} listed in its chunk manifests "
            "but absent; nothing was pushed"
        )


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
        return key, expected, difference(key, expected, target.read(key))

    for key, expected, problem in ordered_map(
        compare, dataset.keys, threads=WORKERS, on_cluster=False
    ):
        digests[key] = expected
        if problem:
            problems.append(problem)
        done += expected.size
        progress(done, total)
    wanted = {**expected_objects(dataset, digests), ROOT: dataset.root}
    for key, data in wanted.items():
        problem = difference(key, digest(data), target.read(key))
        if problem:
            problems.append(problem)
    stray = sorted(set(target.list()) - set(dataset.keys) - set(wanted))
    problems.extend(f"{key} (not in the source)" for key in stray)
    if problems:
        raise option_error(
            ChunkMismatchError,
            f"{target.location} exists and differs from {dataset.location}: "
            f"{list_keys(problems)}; pass {{overwrite}} to replace it",
            overwrite="True",
        )
    return PushResult(
        target.location,
        objects=len(dataset.keys) + len(wanted),
        bytes=total,
        verified_only=True,
        chunks=dataset.chunk_count,
        manifests=len(wanted) - 1,
    )


def difference(key: str, expected: ChunkDigest, data: bytes | None) -> str | None:
    if data is None:
        return f"{key} (missing)"
    found = digest(data)
    if found != expected:
        return f"{key} (expected {describe_digest(expected)}, found {describe_digest(found)})"
    return None
