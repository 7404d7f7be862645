"""A store as what it is underneath: named objects (bytes), whatever holds them.

`open_objects` turns a local folder, a ``.zip`` file (local or at a URL, read-only) or an
fsspec URL (``s3://``, ``https://``, ``memory://``) into `Objects`: list, read, write and
delete by key, the key being the path below the store's root (``particle/phase/c/0/1/0``).
`push` copies stores through it without decoding a chunk, and the validator reads chunk
manifests through it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.zip import ZipFileSystem

from .._errors import CorruptObjectError

__all__ = ["Objects", "is_url", "is_zip", "open_objects", "zip_objects"]


def is_url(location: str) -> bool:
    return "://" in location


def is_zip(location: str) -> bool:
    return location.split("?", 1)[0].rstrip("/").endswith(".zip")


class Objects:
    """The objects of one store: bytes by key, through an fsspec file system."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, location: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.location = location
        """The location as the user wrote it, for messages."""

    @property
    def protocols(self) -> tuple[str, ...]:
        protocol = self.fs.protocol
        return tuple(protocol) if isinstance(protocol, tuple | list) else (protocol,)

    @property
    def writable(self) -> bool:
        """False for zip members and web servers (fsspec reads them, never writes)."""
        return not isinstance(self.fs, ZipFileSystem) and not {"http", "https"} & set(
            self.protocols
        )

    def path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def list(self) -> dict[str, int | None]:
        """Every object's key and size (None where the server does not say); {} when there
        is nothing at the location."""
        self.fs.invalidate_cache(self.root)  # a listing cached earlier may be stale
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        start = len(self.root) + 1 if self.root else 0
        out: dict[str, int | None] = {}
        for name, info in found.items():
            name = name.replace(os.sep, "/") if isinstance(self.fs, LocalFileSystem) else name
            key = name[start:] if self.root and name.startswith(self.root + "/") else name
            out[key] = info.get("size")
        return out

    def keys(self) -> set[str]:
        """Every object's key, from one listing (`list` without the sizes): a walk of a local
        folder (no file is stat-ed), one paginated ``find`` of an object store or zip."""
        if not isinstance(self.fs, LocalFileSystem):
            return set(self.list())
        out: set[str] = set()
        for folder, _, files in os.walk(self.root):
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            out.update(name if rel == "." else f"{rel}/{name}" for name in files)
        return out

    def read(self, key: str) -> bytes | None:
        """The bytes of one object, or None if it does not exist.

        Raises `CorruptObjectError` naming the key where a zip member fails its CRC-32.
        """
        try:
            return self.fs.cat_file(self.path(key))
        except (FileNotFoundError, KeyError):
            return None
        except zipfile.BadZipFile as err:
            raise self._corrupt(key, err) from err

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """Several objects at once (concurrently on object stores); None for absent ones."""
        keys = list(keys)
        if not keys:
            return {}
        paths = {self.path(key): key for key in keys}
        got = self.fs.cat(list(paths), on_error="return")
        if not isinstance(got, dict):  # one path: fsspec returns the bytes themselves
            got = {next(iter(paths)): got}
        out: dict[str, bytes | None] = {}
        for path, key in paths.items():
            value = got.get(path)
            if isinstance(value, FileNotFoundError | KeyError) or value is None:
                out[key] = None
            elif isinstance(value, zipfile.BadZipFile):
                raise self._corrupt(key, value) from value
            elif isinstance(value, BaseException):
                raise value
            else:
                out[key] = value
        return out

    def _corrupt(self, key: str, err: zipfile.BadZipFile) -> CorruptObjectError:
        reason = "fails the zip's CRC-32 check" if "CRC" in str(err) else f"is unreadable ({err})"
        return CorruptObjectError(f"{self.location} is damaged: {key} {reason}", key, reason)

    def write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(key), data)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.fs.rm_file(self.path(key))


def open_objects(
    location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> Objects:
    """The objects of the store at a folder, a ``.zip`` file (read-only) or an fsspec URL."""
    where = os.fspath(location)
    options = dict(storage_options or {})
    if is_zip(where):
        return zip_objects(where, options)
    if not is_url(where):
        return Objects(LocalFileSystem(auto_mkdir=True), os.path.abspath(where), where)
    fs, root = fsspec.core.url_to_fs(where, **options)
    if isinstance(fs, LocalFileSystem):
        fs = LocalFileSystem(auto_mkdir=True)
    return Objects(fs, root, where)


def zip_objects(location: str, storage_options: Mapping[str, Any] | None = None) -> Objects:
    """The members of a zip file, local or at a URL, read-only."""
    where = location if is_url(location) else os.path.abspath(location)
    options = dict(storage_options or {}) or None
    return Objects(fsspec.filesystem("zip", fo=where, target_options=options), "", location)
