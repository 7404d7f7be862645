"""The exception hierarchy shared by every fusion package.

Each class also inherits the builtin exception with the same meaning, so that callers who
catch ``ValueError`` or ``OSError`` keep working, and callers who want to tell invalid content
from an unreadable file can. ``exit_code`` is what the ``fusion`` command exits with.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = [
    "EXIT_INVALID",
    "EXIT_UNREADABLE",
    "FusionError",
    "UnreadableFileError",
    "UnreadableStoreError",
    "WriteError",
    "fill_options",
    "option_error",
]

EXIT_INVALID = 1
"""Exit code of invalid content: a dataset, card or recipe that does not conform."""
EXIT_UNREADABLE = 2
"""Exit code of input that cannot be read at all (a missing file, a broken store)."""


class FusionError(Exception):
    """Base class of every error raised on purpose by a fusion package.

    ``exit_code`` is 1 (invalid content) unless a subclass says otherwise; a subclass that is
    also an `OSError` and sets none gets 2 (unreadable), as the ``fusion`` command always
    treated the `OSError` family.

    Examples
    --------
    >>> class GoneError(FusionError, OSError): ...
    >>> FusionError.exit_code, GoneError.exit_code
    (1, 2)
    """

    exit_code: int = EXIT_INVALID

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "exit_code" not in cls.__dict__ and issubclass(cls, OSError):
            cls.exit_code = EXIT_UNREADABLE


class UnreadableStoreError(FusionError, OSError):
    """A path or URL cannot be opened as a Zarr store at all."""

    exit_code = EXIT_UNREADABLE


class UnreadableFileError(FusionError, OSError):
    """An input file (instrument file, image, archive) cannot be read as what it claims to be.

    The message names the file and, where known, the place inside it and what was expected.
    """

    exit_code = EXIT_UNREADABLE


class WriteError(FusionError, OSError):
    """A dataset could not be written; nothing at the destination was changed."""

    exit_code = EXIT_UNREADABLE


E = TypeVar("E", bound=BaseException)


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
