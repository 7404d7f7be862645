"""Pushing to a zip file: built aside (in a partial folder beside it, see
`fusion.schema.store._partials`), every member verified, then moved into place (a local
file) or uploaded as one object (a URL, e.g. ``s3://bucket/nmc.zip``), which object stores
show whole or not at all.

The archive is reproducible: members stored uncompressed in sorted order with a fixed
timestamp, so the same dataset always gives the same SHA-256 (the registry pins it).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fsspec

from fusion.base import Hasher, remove_path

from .._errors import ChunkMismatchError
from .._scheduler import ordered_map
from ..store._manifest import ChunkDigest, digest
from ..store._objects import is_url, open_objects, zip_objects
from ..store._partials import claimed_partial, remove_stale_partials
from ._source import (
    ROOT,
    WORKERS,
    Progress,
    PushResult,
    SourceDataset,
    expected_objects,
    verify_copy,
)

__all__ = ["push_zip"]

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
READ_BYTES = 2**22


def push_zip(
    dataset: SourceDataset,
    dest: str,
    overwrite: bool,
    storage_options: Mapping[str, Any] | None,
    progress: Progress,
) -> PushResult:
    """Write the dataset as one zip file at ``dest``; compare with an existing one unless
    ``overwrite``."""
    fs, path = fsspec.core.url_to_fs(dest, **dict(storage_options or {}))
    if fs.exists(path) and not overwrite:
        return verify_copy(dataset, open_objects(dest, storage_options), progress)
    folder = Path(dest).resolve().parent if not is_url(dest) else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    beside = folder / dest.rstrip("/").rsplit("/", 1)[-1]
    remove_stale_partials(beside)
    with claimed_partial(beside) as work:
        partial = work / "archive.zip"
        try:
            expected = _build(dataset, partial, progress)
            _verify_members(dataset, partial, expected)
            archive = _digest_file(fsspec.filesystem("file"), str(partial))
            if is_url(dest):
                _upload(fs, str(partial), path, dest, archive)
            else:
                os.replace(partial, dest)
        finally:
            remove_path(work)
    return PushResult(
        dest,
        objects=len(expected),
        bytes=dataset.total_bytes,
        uploaded=len(dataset.keys),
        archive=archive,
        chunks=dataset.chunk_count,
        manifests=len(expected) - len(dataset.keys) - 1,
    )


def _build(dataset: SourceDataset, archive: Path, progress: Progress) -> dict[str, ChunkDigest]:
    """Write every member; return the digest each member must have."""
    expected: dict[str, ChunkDigest] = {}
    done, total = 0, dataset.total_bytes
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        reads = ordered_map(
            lambda k: (k, dataset.read(k)), dataset.keys, threads=WORKERS, on_cluster=False
        )
        for key, (data, found) in reads:
            _add(zf, key, data)
            expected[key] = found
            done += found.size
            progress(done, total)
        for key, data in {**expected_objects(dataset, expected), ROOT: dataset.root}.items():
            _add(zf, key, data)
            expected[key] = digest(data)
    return expected


def _add(zf: zipfile.ZipFile, key: str, data: bytes) -> None:
    info = zipfile.ZipInfo(key, date_time=ZIP_TIME)
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def _verify_members(
    dataset: SourceDataset, archive: Path, expected: Mapping[str, ChunkDigest]
) -> None:
    members = zip_objects(str(archive))
    bad = []
    for key, want in expected.items():
        data = members.read(key)
        if data is None or digest(data) != want:
            bad.append(key)
    if bad:
        raise ChunkMismatchError(
            f"the zip built from {dataset.location} reads back wrong at {', '.join(bad[:5])}; "
            "nothing was written"
        )


def _upload(
    fs: fsspec.AbstractFileSystem, local: str, path: str, dest: str, archive: ChunkDigest
) -> None:
    fs.put_file(local, path)
    found = _digest_file(fs, path)
    if found != archive:
        fs.rm_file(path)
        raise ChunkMismatchError(
            f"{dest} read back as sha256 {found.sha256[:16]}… ({found.size} bytes), expected "
            f"sha256 {archive.sha256[:16]}… ({archive.size} bytes); the upload was deleted"
        )


def _digest_file(fs: fsspec.AbstractFileSystem, path: str) -> ChunkDigest:
    hasher = Hasher()
    with fs.open(path, "rb") as f:
        while block := f.read(READ_BYTES):
            hasher.update(block)
    return ChunkDigest.model_construct(size=hasher.size, sha256=hasher.hexdigest())
