"""The exception hierarchy shared by every fusion package.

Each class also inherits the builtin exception with the same meaning, so that callers who
catch ``ValueError`` or ``OSError`` keep working, and callers who want to tell a malformed
dataset from an unreadable file can.
"""

from __future__ import annotations

__all__ = [
    "ChunkMismatchError",
    "FusionError",
    "SchemaError",
    "UnreadableFileError",
    "UnreadableStoreError",
    "WriteError",
]


class FusionError(Exception):
    """Base class of every error raised on purpose by a fusion package."""


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


class UnreadableStoreError(FusionError, OSError):
    """A path or URL cannot be opened as a Zarr store at all."""


class UnreadableFileError(FusionError, OSError):
    """An input file (instrument file, image, archive) cannot be read as what it claims to be.

    The message names the file and, where known, the place inside it and what was expected.
    """


class WriteError(FusionError, OSError):
    """A dataset could not be written; nothing at the destination was changed."""


class ChunkMismatchError(FusionError, ValueError):
    """Stored objects differ from what they should hold: a copy from its source, or a chunk
    from its manifest. The message names the chunk keys."""
