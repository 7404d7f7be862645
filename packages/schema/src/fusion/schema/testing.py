"""Assertions for downstream test suites: ``from fusion.schema.testing import assert_conforms``."""

from __future__ import annotations

from typing import Any, Literal

from ._validate import validate

__all__ = ["assert_conforms", "assert_finding"]


def assert_conforms(target: Any, level: Literal["metadata", "data"] = "data") -> None:
    """Fail with the whole report unless ``target`` conforms to the format."""
    report = validate(target, level=level)
    if not report.ok:
        raise AssertionError(str(report))


def assert_finding(
    target: Any,
    code: str,
    path: str | None = None,
    level: Literal["metadata", "data"] = "data",
) -> None:
    """Fail unless validating ``target`` finds ``code`` (at ``path``, when given)."""
    report = validate(target, level=level)
    hits = [f for f in report.findings if f.code == code and (path is None or f.path == path)]
    if not hits:
        raise AssertionError(f"expected finding {code} at {path or 'any path'}; got:\n{report}")
