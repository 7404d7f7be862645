"""Errors of the registry and the cache.

Each class is a :class:`fusion.schema.FusionError` and also the builtin exception with the same
meaning, so that a caller can tell corruption (``ValueError`` family: a hash mismatch) from
misuse (a bad reference) from an unreachable server (``OSError`` family), and code that
catches ``KeyError`` or ``ConnectionError`` keeps working.
"""

from __future__ import annotations

from fusion.base import FusionError

__all__ = [
    "BadReferenceError",
    "CardFileError",
    "HashMismatchError",
    "IntegrityError",
    "NoRegistryError",
    "NotInRegistryError",
    "OfflineError",
    "RegistryFileError",
    "SizeMismatchError",
    "TransferError",
    "UnsafePathError",
]


class RegistryFileError(FusionError, ValueError):
    """A registry file is not a valid ``fusion-registry/1`` or ``/2`` file; the message names the
    entry."""


class CardFileError(RegistryFileError):
    """A card file the registry index points to is missing or not a valid card; the message
    names the file. (A card whose bytes differ from the index raises ``HashMismatchError``.)"""


class BadReferenceError(FusionError, ValueError):
    """A ``KIND:NAME[@VERSION]`` reference is malformed."""


class NotInRegistryError(FusionError, KeyError):
    """A name or version is not in the registry; the message lists what is."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnsafePathError(FusionError, ValueError):
    """A path would leave the registry folder or the cache (``..``, absolute path, symlink)."""


class IntegrityError(FusionError, ValueError):
    """Bytes are not what the registry promises. The partial download has been deleted."""


class HashMismatchError(IntegrityError):
    """The SHA-256 of the bytes is not the registry's.

    Attributes
    ----------
    expected, got
        Both digests, ``sha256:<hex>``.
    """

    def __init__(self, message: str, expected: str, got: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got


class SizeMismatchError(IntegrityError):
    """The number of bytes is not the registry's ``size``."""

    def __init__(self, message: str, expected: int, got: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got


class OfflineError(FusionError, ConnectionError):
    """Offline mode is on and what was asked for is not in the cache. No network was touched."""


class TransferError(FusionError, OSError):
    """An artifact or a registry could not be read from its URL (after retries)."""


class NoRegistryError(FusionError, FileNotFoundError):
    """No registry was given and there is no default one."""
