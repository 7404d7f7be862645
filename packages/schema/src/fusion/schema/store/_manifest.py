"""Chunk manifests: which objects each array should hold, with their size and SHA-256.

Zarr reads an absent chunk as the fill value, so a deleted chunk looks like valid data; a
chunk overwritten with other bytes may still decode. A manifest makes both visible. Each
array of a store written by `write` or `push` holds one manifest object beside its
``zarr.json``::

    particle/phase/fusion_chunks.json
    {"manifest": "fusion-chunks/1",
     "chunks": {"c/0/0/0": {"size": 2116, "sha256": "9f86d081..."}, ...}}

Chunk keys are relative to the array. The manifest lists every object under the array's
prefix except ``zarr.json`` and itself; a chunk it does not list is absent from the store
(zarr skips chunks that hold only the fill value). Manifests live inside array prefixes,
which zarr never lists, so zarr and xarray do not see them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, NonNegativeInt, StringConstraints, ValidationError

from fusion.base import hash_bytes

from .._errors import SchemaError
from ..model.v0_1._base import FusionModel, Sha256

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "ChunkDigest",
    "ChunkManifest",
    "ManifestError",
    "array_of",
    "decode_manifest",
    "describe_digest",
    "digest",
    "encode_manifest",
    "is_chunk_key",
    "list_keys",
    "manifest_key",
    "manifests_for",
]

LISTED = 5
"""Chunk keys named in one message; the rest are counted."""

MANIFEST_NAME = "fusion_chunks.json"
MANIFEST_FORMAT = "fusion-chunks/1"
METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})


def _relative_key(key: str) -> str:
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in key:
        raise ValueError(f"expected a relative key such as 'c/0/1/0', got {key!r}")
    return key


ChunkKey = Annotated[
    str, StringConstraints(pattern=r"^[^/\\]+(/[^/\\]+)*$"), AfterValidator(_relative_key)
]


class ChunkDigest(FusionModel):
    """Size and SHA-256 of one stored object."""

    size: NonNegativeInt
    """Length of the stored (encoded) object in bytes."""
    sha256: Sha256
    """SHA-256 of the stored bytes, 64 lower-case hex digits."""


class ChunkManifest(FusionModel):
    """The ``fusion_chunks.json`` object of one array."""

    manifest: Literal["fusion-chunks/1"]
    """Format and version of this document."""
    chunks: dict[ChunkKey, ChunkDigest]
    """Every stored object of the array (key relative to the array, e.g. ``c/0/1/0``) except
    ``zarr.json`` and the manifest itself. A chunk not listed is absent from the store."""


class ManifestError(SchemaError):
    """A manifest object is not a valid ``fusion-chunks/1`` document."""


def digest(data: bytes | memoryview) -> ChunkDigest:
    """Size and SHA-256 of some bytes.

    >>> digest(b"abc").sha256[:16], digest(b"abc").size
    ('ba7816bf8f01cfea', 3)
    """
    return ChunkDigest.model_construct(size=len(data), sha256=hash_bytes(data))


def describe_digest(value: ChunkDigest | None) -> str:
    """A digest as messages show it: ``sha256 ba7816bf8f01cfea…, 3 bytes``."""
    if value is None:
        return "no such chunk"
    return f"sha256 {value.sha256[:16]}…, {value.size} bytes"


def list_keys(keys: Iterable[str]) -> str:
    """The first `LISTED` keys, comma-separated, then how many more there are."""
    keys = list(keys)
    more = f" and {len(keys) - LISTED} more" if len(keys) > LISTED else ""
    return ", ".join(keys[:LISTED]) + more


def manifest_key(array_prefix: str) -> str:
    """The key of an array's manifest: ``particle/phase`` → ``particle/phase/fusion_chunks.json``."""
    return f"{array_prefix}/{MANIFEST_NAME}" if array_prefix else MANIFEST_NAME


def is_chunk_key(key: str) -> bool:
    """True for objects a manifest covers: neither a metadata document nor a manifest.

    >>> is_chunk_key("particle/phase/c/0/1/0"), is_chunk_key("particle/phase/zarr.json")
    (True, False)
    """
    name = key.rsplit("/", 1)[-1]
    return name not in METADATA_NAMES and name != MANIFEST_NAME


def array_of(key: str, array_prefixes: Collection[str]) -> str | None:
    """The array a key belongs to: the longest array prefix it lies under, if any.

    >>> array_of("particle/phase/c/0/1/0", {"particle/phase", "particle/phase2"})
    'particle/phase'
    """
    parent = key
    while "/" in parent:
        parent = parent.rsplit("/", 1)[0]
        if parent in array_prefixes:
            return parent
    return None


def manifests_for(
    digests: Mapping[str, ChunkDigest], array_prefixes: Iterable[str]
) -> dict[str, ChunkManifest]:
    """One manifest per array, in sorted order, from the digests of a store's objects (keys
    from its root).

    Arrays that hold no chunk get an empty manifest; keys outside every array are ignored.
    """
    prefixes = sorted(set(array_prefixes))
    lookup = set(prefixes)
    chunks: dict[str, dict[str, ChunkDigest]] = {prefix: {} for prefix in prefixes}
    for key, value in digests.items():
        prefix = array_of(key, lookup)
        if prefix is not None and is_chunk_key(key):
            chunks[prefix][key[len(prefix) + 1 :]] = value
    return {
        prefix: ChunkManifest.model_construct(manifest=MANIFEST_FORMAT, chunks=found)
        for prefix, found in chunks.items()
    }


def encode_manifest(manifest: ChunkManifest) -> bytes:
    """The manifest as compact JSON with sorted keys: the same chunks give the same bytes."""
    document = {
        "manifest": manifest.manifest,
        "chunks": {
            key: {"size": d.size, "sha256": d.sha256} for key, d in sorted(manifest.chunks.items())
        },
    }
    return (json.dumps(document, separators=(",", ":")) + "\n").encode()


def decode_manifest(data: bytes, where: str) -> ChunkManifest:
    """Parse a manifest object; raise `ManifestError` naming ``where`` and the problem."""
    try:
        return ChunkManifest.model_validate_json(data, strict=True)
    except ValidationError as err:
        first = err.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "document"
        raise ManifestError(
            f"{where} is not a {MANIFEST_FORMAT} manifest: {location}: {first['msg']}"
        ) from None
