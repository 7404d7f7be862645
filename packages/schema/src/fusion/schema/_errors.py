"""The schema's errors, and the generic ones of `fusion.base` that fusion.schema re-exports.

Each class also inherits the builtin exception with the same meaning, so that callers who
catch ``ValueError`` or ``OSError`` keep working, and callers who want to tell a malformed
dataset from an unreadable file can. `FusionError`, `UnreadableFileError`,
`UnreadableStoreError` and `WriteError` live in `fusion.base`; the names here are the very
same classes.
"""

from __future__ import annotations

from fusion.base import (
    FusionError,
    UnreadableFileError,
    UnreadableStoreError,
    WriteError,
    fill_options,
    option_error,
)

__all__ = [
    "ChunkMismatchError",
    "CorruptObjectError",
    "FusionError",
    "SchemaError",
    "UnreadableFileError",
    "UnreadableStoreError",
    "WriteError",
    "fill_options",
    "option_error",
]


class SchemaError(FusionError, ValueError):
    """Metadata or data does not conform to the fusion format.

    Parameters
    ----------
    message
        One line saying what was expected and what was found.
    report
        The validation report behind the error, when there is one.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class ChunkMismatchError(FusionError, ValueError):
    """Stored objects differ from what they should hold: a copy from its source, or a chunk
    from its manifest. The message names the chunk keys."""


class CorruptObjectError(ChunkMismatchError):
    """A stored object cannot be read back as it was stored (a zip member whose CRC-32 fails).

    ``key`` is the object's key in the store (``particle/phase/c/0/0/0``); ``reason`` says
    what is wrong with it, for messages."""

    def __init__(self, message: str, key: str, reason: str) -> None:
        super().__init__(message)
        self.key, self.reason = key, reason
