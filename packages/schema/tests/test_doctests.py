"""The docstring examples of fusion.schema run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fusion.schema

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(fusion.schema.__path__, prefix="fusion.schema.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
