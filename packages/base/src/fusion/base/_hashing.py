"""SHA-256 of files, bytes and streams: the one place that calls `hashlib.sha256`.

Digests are lower-case hex; files are read in 1 MiB chunks, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["CHUNK", "Hasher", "HashingReader", "Progress", "hash_bytes", "hash_file", "is_sha256"]

CHUNK = 1 << 20
"""Bytes read per step when hashing or copying (1 MiB)."""

Progress = Callable[[int, int], None]
"""A callback ``progress(done, total)`` in bytes; ``total`` is 0 when unknown."""


class Hasher:
    """A running SHA-256 with the number of bytes fed: ``update`` it, then read ``hexdigest``.

    Examples
    --------
    >>> h = Hasher()
    >>> h.update(b"ab")
    >>> h.update(b"c")
    >>> h.size, h.hexdigest() == hash_bytes(b"abc")
    (3, True)
    """

    def __init__(self, data: bytes = b"") -> None:
        self._digest = hashlib.sha256()
        self.size = 0
        """Bytes fed so far."""
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed ``data``."""
        self._digest.update(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        """The SHA-256 of everything fed so far, lower-case hex."""
        return self._digest.hexdigest()


class HashingReader:
    """A binary file object that hashes what is read through it (for copying while hashing).

    Parameters
    ----------
    raw
        The file object to read from.

    Examples
    --------
    >>> import io
    >>> reader = HashingReader(io.BytesIO(b"abc"))
    >>> reader.read(2) + reader.read()
    b'abc'
    >>> reader.hasher.hexdigest() == hash_bytes(b"abc")
    True
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hasher = Hasher()
        """The digest of the bytes read so far."""

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all by default) and hash them."""
        data = self.raw.read(size)
        self.hasher.update(data)
        return data

    def hexdigest(self) -> str:
        """The SHA-256 of the bytes read so far."""
        return self.hasher.hexdigest()


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """SHA-256 of bytes in memory, lower-case hex: the same digest as `hash_file` of a file.

    >>> hash_bytes(b"")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return Hasher(data).hexdigest()


def hash_file(path: str | os.PathLike[str], progress: Progress | None = None) -> str:
    """SHA-256 of a file's bytes as lower-case hex, read in 1 MiB chunks.

    Parameters
    ----------
    path
        The file.
    progress
        Called with (bytes hashed, file size) after each chunk.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty"
    >>> _ = p.write_bytes(b"")
    >>> hash_file(p)
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    hasher = Hasher()
    total = os.path.getsize(path) if progress is not None else 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            if progress is not None:
                progress(hasher.size, total)
    return hasher.hexdigest()


def is_sha256(text: str) -> bool:
    """Whether ``text`` is 64 lower-case hex digits.

    >>> is_sha256("0" * 64), is_sha256("sha256:" + "0" * 64), is_sha256("ABC")
    (True, False, False)
    """
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
