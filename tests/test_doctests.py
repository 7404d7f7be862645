"""The docstring examples of every fusion package run and hold (fusion.registry's run with its
JSON Schema tests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = [
    "fusion.base",
    "fusion.schema",
    "fusion.models",
    "fusion.loaders",
    "fusion.cli",
    "fusion.analysis",
    "fusion.show",
    "fusion.transfer",
    "fusion.fuse",
]
MODULES = sorted(
    name
    for package in PACKAGES
    for _, name, _ in pkgutil.walk_packages(
        importlib.import_module(package).__path__, prefix=f"{package}."
    )
    if not name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
