"""Assertions and a small builder for downstream test suites and benchmarks:
``from fusion.schema.testing import assert_conforms, grey_image_tree``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from .checks._validate import validate
from .provenance import add_activity, new_root

__all__ = ["assert_conforms", "assert_finding", "grey_image_tree"]


def grey_image_tree(
    grey: np.ndarray, pixel_um: float, *, modality: str = "SEM", title: str = "grey image"
) -> xr.DataTree:
    """A minimal conforming dataset: one ``intensity`` channel (units 1, origin measured) on
    (z, y, x) in group ``/image``, made by one ``derive`` activity. ``grey`` is (y, x) or
    (z, y, x); voxels are ``pixel_um`` on every axis.

    >>> tree = grey_image_tree(np.zeros((4, 5), np.uint16), 0.01)
    >>> tree["image"]["intensity"].shape, validate(tree, level="data").ok
    ((1, 4, 5), True)
    """
    values = grey if grey.ndim == 3 else grey[np.newaxis]
    now = "2026-01-01T00:00:00+00:00"
    attrs = {"long_name": f"{modality} intensity", "units": "1", "modality": modality,
             "origin": "measured", "provenance": "make"}  # fmt: skip
    coords = {
        d: (d, pixel_um * np.arange(n), {"units": "um"})
        for d, n in zip("zyx", values.shape, strict=True)
    }
    image = xr.Dataset({"intensity": (("z", "y", "x"), values, attrs)}, coords=coords)
    root = new_root(title, created=now, schema="fusion/0.2")
    add_activity(root, "derive", activity_id="make", generated=["/image/intensity"],
                 software=("fusion.schema.testing", "1"), started=now, ended=now)  # fmt: skip
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"fusion": root}), "/image": image})


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
