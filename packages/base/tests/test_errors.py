"""Exit codes and builtin meanings of the shared errors."""

from __future__ import annotations

import pytest

from fusion.base import (
    EXIT_INVALID,
    EXIT_UNREADABLE,
    FusionError,
    UnreadableFileError,
    UnreadableStoreError,
    WriteError,
)


@pytest.mark.parametrize(
    ("cls", "builtin", "code"),
    [
        (FusionError, Exception, EXIT_INVALID),
        (UnreadableFileError, OSError, EXIT_UNREADABLE),
        (UnreadableStoreError, OSError, EXIT_UNREADABLE),
        (WriteError, OSError, EXIT_UNREADABLE),
    ],
)
def test_each_error_keeps_its_builtin_meaning_and_exit_code(cls, builtin, code):
    err = cls("scan.ang: expected a header line")
    assert isinstance(err, FusionError)
    assert isinstance(err, builtin)
    assert err.exit_code == code
    assert str(err) == "scan.ang: expected a header line"


def test_a_subclass_that_is_an_oserror_is_unreadable_unless_it_says_otherwise():
    class Missing(FusionError, FileNotFoundError): ...

    class Invalid(FusionError, ValueError): ...

    class Chosen(FusionError, OSError):
        exit_code = 3

    assert (Missing.exit_code, Invalid.exit_code, Chosen.exit_code) == (2, 1, 3)
