"""The validator's checks of an OME view (``ome.*`` codes, spec/fusion-ome-1.md §4).

The view's root record holds each scale group's shape, voxel size and origin as its
coordinates gave them; every image's OME metadata must agree with it: one dataset per level
at paths ``0``, ``1``, …, as many levels as `level_shapes` gives, each level's shape, scale and
translation those of the rule. At level ``data`` every level above 0 is recomputed from the one
below it, block by block, and compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import zarr

from ..checks._report import ValidationReport
from ._metadata import OME_VERSION, SPACE_UNIT
from ._pyramid import level_factors, level_shapes, level_translation, reduce_block

__all__ = ["check_view"]

_TOLERANCE = 1e-6
"""Relative tolerance of a scale or translation (that of regular coordinate spacing)."""
_RECORD_FIELDS = ("format", "groups", "images")


def check_view(root: zarr.Group, record: Any, report: ValidationReport, level: str) -> None:
    """Check every image the record lists; findings go to ``report``."""
    report.schema_id = record.get("format") if isinstance(record, Mapping) else None
    if not isinstance(record, Mapping) or any(f not in record for f in _RECORD_FIELDS):
        report.add("ome.view-record", "/", f"the record must hold {', '.join(_RECORD_FIELDS)}",
                   attribute="fusion_ome_view")  # fmt: skip
        return
    for path, image in sorted(record["images"].items()):
        group = record["groups"].get(image.get("group")) if isinstance(image, Mapping) else None
        where = f"/{path}"
        if group is None:
            report.add("ome.view-record", where, "the record gives no scale group for this image",
                       attribute="fusion_ome_view")  # fmt: skip
            continue
        try:
            node = root[path]
        except KeyError:
            report.add("ome.view-record", where, "the record lists this image; the view lacks it")
            continue
        if not isinstance(node, zarr.Group):
            report.add("ome.metadata", where, "expected an image group, found an array")
            continue
        multiscale = _multiscale(node, image, where, report)
        if multiscale is not None:
            arrays = _check_levels(node, multiscale, image, group, where, report)
            if level == "data" and arrays:
                _check_values(arrays, image, where, report)


def _multiscale(
    node: zarr.Group, image: Mapping[str, Any], where: str, report: ValidationReport
) -> Mapping[str, Any] | None:
    """The image's one multiscale, its axes checked; None (and a finding) where it has none."""
    ome = node.attrs.get("ome")
    if not isinstance(ome, Mapping) or ome.get("version") != OME_VERSION:
        report.add("ome.metadata", where, f"no `ome` attribute of version {OME_VERSION}")
        return None
    multiscales = ome.get("multiscales")
    if not isinstance(multiscales, list) or len(multiscales) != 1:
        report.add("ome.metadata", where, "expected exactly one entry in `ome.multiscales`")
        return None
    if image.get("role") == "label" and "image-label" not in ome:
        report.add("ome.metadata", where, "a label image without `ome.image-label`")
    multiscale = multiscales[0]
    expected = ["z", "y", "x"] if not image.get("channel_dim") else ["c", "z", "y", "x"]
    axes = multiscale.get("axes") if isinstance(multiscale, Mapping) else None
    names = [a.get("name") for a in axes] if isinstance(axes, list) else None
    units = [a.get("unit") for a in axes or [] if a.get("type") == "space"]
    if names != expected or units != [SPACE_UNIT] * 3:
        report.add("ome.metadata", where, f"axes must be {expected} (space axes in "
                   f"{SPACE_UNIT}), found {names} in {units}")  # fmt: skip
        return None
    if not isinstance(multiscale.get("datasets"), list):
        report.add("ome.metadata", where, "`datasets` is not a list")
        return None
    return multiscale


def _check_levels(
    node: zarr.Group,
    multiscale: Mapping[str, Any],
    image: Mapping[str, Any],
    group: Mapping[str, Any],
    where: str,
    report: ValidationReport,
) -> list[zarr.Array]:
    """Paths, shapes and transforms of every level; the arrays of those that exist."""
    shape0 = [int(n) for n in group["shape"]]
    shapes = level_shapes(shape0)
    datasets = multiscale["datasets"]
    if len(datasets) < len(shapes):
        report.add("ome.missing-level", where, f"{len(datasets)} level(s); a "
                   f"{'x'.join(map(str, shape0))} channel has {len(shapes)}")  # fmt: skip
    lead = 1 if image.get("channel_dim") else 0
    arrays = []
    for level, (dataset, shape) in enumerate(zip(datasets, shapes, strict=False)):
        at = f"{where}/{dataset.get('path')}"
        if dataset.get("path") != str(level):
            report.add("ome.metadata", at, f"level {level} must be at path {level!r}")
        _check_transforms(dataset, image, group, level, at, report)
        try:
            array = node[str(level)]
        except KeyError:
            report.add("ome.missing-level", at, f"level {level} is listed but not stored")
            continue
        if tuple(array.shape[lead:]) != tuple(shape):
            report.add("ome.missing-level", at, f"level {level} is "
                       f"{'x'.join(map(str, array.shape))}, expected {'x'.join(map(str, shape))}")  # fmt: skip
            continue
        arrays.append(array)
    return arrays


def _check_transforms(
    dataset: Mapping[str, Any],
    image: Mapping[str, Any],
    group: Mapping[str, Any],
    level: int,
    where: str,
    report: ValidationReport,
) -> None:
    lead = 1 if image.get("channel_dim") else 0
    transforms = {t.get("type"): t for t in dataset.get("coordinateTransformations", [])}
    voxel, origin = group["voxel_size_um"], group["origin_um"]
    factors = level_factors(group["shape"], level)
    scale = [s * f for s, f in zip(voxel, factors, strict=True)]
    shift = level_translation(origin, voxel, factors, image.get("reduction", "mean"))
    found_scale = (transforms.get("scale") or {}).get("scale", [])[lead:]
    found_shift = (transforms.get("translation") or {}).get("translation", [0.0] * (3 + lead))
    if not _close(found_scale, scale, voxel):
        report.add("ome.scale", where, f"scale {found_scale} µm; the coordinates give "
                   f"{_rounded(scale)} at level {level}")  # fmt: skip
    if not _close(found_shift[lead:], shift, voxel):
        report.add("ome.scale", where, f"translation {found_shift[lead:]} µm; the coordinates "
                   f"give {_rounded(shift)} at level {level}")  # fmt: skip


def _close(found: Any, expected: list[float], voxel: list[float]) -> bool:
    if not isinstance(found, list) or len(found) != len(expected):
        return False
    return all(
        isinstance(f, int | float)
        and math.isclose(f, e, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE * v)
        for f, e, v in zip(found, expected, voxel, strict=True)
    )


def _rounded(values: list[float]) -> list[float]:
    return [float(f"{v:.9g}") for v in values]


def _check_values(
    arrays: list[zarr.Array], image: Mapping[str, Any], where: str, report: ValidationReport
) -> None:
    """Each level against the reduction of the one below, a block of output at a time."""
    lead = 1 if image.get("channel_dim") else 0
    flags = image.get("flag_values")
    for level in range(1, len(arrays)):
        below, above = arrays[level - 1], arrays[level]
        halve = [False] * lead + [n > 1 for n in below.shape[lead:]]
        step = [max(1, c) for c in (above.shards or above.chunks)]
        for corner in np.ndindex(
            *[math.ceil(n / s) for n, s in zip(above.shape, step, strict=True)]
        ):
            out = tuple(slice(i * s, min((i + 1) * s, n))
                        for i, s, n in zip(corner, step, above.shape, strict=True))  # fmt: skip
            src = tuple(slice(o.start * 2, o.stop * 2) if h else o
                        for o, h in zip(out, halve, strict=True))  # fmt: skip
            expected = reduce_block(np.asarray(below[src]), halve, image["reduction"], flags)
            if not np.array_equal(np.asarray(above[out]), expected, equal_nan=_floating(expected)):
                report.add("ome.level-values", f"{where}/{level}", f"block at {[o.start for o in out]} "
                           f"is not the {image['reduction']} of level {level - 1}")  # fmt: skip
                break


def _floating(values: np.ndarray) -> bool:
    return values.dtype.kind == "f"
