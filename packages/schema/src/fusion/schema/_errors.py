"""The schema's errors, and the generic ones of `fusion.base` that fusion.schema re-exports.

Each class also inherits the builtin exception with the same meaning, so that callers who
catch ``ValueError`` or ``OSError`` keep working, and callers who want to tell a malformed
dataset from an unreadable file can. `FusionError`, `UnreadableFileError`,
`UnreadableStoreError` and `WriteError` live in `fusion.base`; the names here are the very
same classes.
"""

from __future__ import annotations

from typing import TypeVar

from fusion.base import FusionError, UnreadableFileError, UnreadableStoreError, WriteError

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

E = TypeVar("E", bound=BaseException)


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


def option_error(cls: type[E], template: str, **values: str) -> E:
    """An error whose message names parameters, worded for whoever reads it.

    ``template`` holds one ``{keyword}`` placeholder per parameter; ``values`` gives the value
    to show for each (``"True"``, ``"..."``). The message, as Python shows it, names the
    keyword (``overwrite=True``). The error keeps ``option_template`` and ``option_values``,
    so that the ``fusion`` command can name the flag that sets the same parameter instead
    (``--overwrite``); a command without such a flag keeps the keyword.

    Examples
    --------
    >>> err = option_error(ValueError, "x exists; pass {overwrite} to replace it", overwrite="True")
    >>> str(err), err.option_values
    ('x exists; pass overwrite=True to replace it', {'overwrite': 'True'})
    """
    err = cls(fill_options(template, {key: f"{key}={value}" for key, value in values.items()}))
    err.option_template, err.option_values = template, dict(values)  # type: ignore[attr-defined]
    return err


def fill_options(template: str, wording: dict[str, str]) -> str:
    """Put each parameter's wording at its ``{keyword}`` placeholder; every other brace of
    the template (a path's, say) is left as it is.

    >>> fill_options("{a}.zarr exists; pass {overwrite}", {"overwrite": "--overwrite"})
    '{a}.zarr exists; pass --overwrite'
    """
    for key, text in wording.items():
        template = template.replace("{" + key + "}", text)
    return template
