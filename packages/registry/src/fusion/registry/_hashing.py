"""SHA-256 of files and streams, chunked; digests written ``sha256:<hex>`` in messages."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

__all__ = ["CHUNK", "Progress", "hash_file", "is_sha256", "label"]

CHUNK = 1 << 20
"""Bytes read per step when hashing or copying (1 MiB)."""

Progress = Callable[[int, int], None]
"""A callback ``progress(done, total)`` in bytes; ``total`` is 0 when unknown."""


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
    digest = hashlib.sha256()
    total = os.path.getsize(path)
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


def is_sha256(text: str) -> bool:
    """Whether ``text`` is 64 lower-case hex digits.

    >>> is_sha256("0" * 64), is_sha256("sha256:" + "0" * 64), is_sha256("ABC")
    (True, False, False)
    """
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def label(hexdigest: str) -> str:
    """The digest as written in messages and listings.

    >>> label("ab" * 32)[:15]
    'sha256:abababab'
    """
    return f"sha256:{hexdigest}"
