"""Reading OME-Zarr metadata: the images of a store, their axes in µm and their labels.

OME-Zarr 0.4 keeps its metadata in Zarr v2 ``.zattrs`` (``multiscales``, ``labels``,
``image-label`` at the top level); 0.5 keeps it in Zarr v3 ``zarr.json`` under ``ome``. Both
give a multiscale image as axes (``{"name", "type", "unit"}``), datasets (one array per level)
and coordinate transformations (``scale``, then optional ``translation``), per level and for
the whole multiscale; the position of voxel ``i`` is ``i * scale + translation``, the centre of
the voxel in the format's sense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import zarr

__all__ = ["UM_PER_UNIT", "OmeFormatError", "OmeImage", "find_images", "ome_attrs", "read_image"]

VERSIONS = ("0.4", "0.5")
UM_PER_UNIT = {
    "angstrom": 1e-4,
    "picometer": 1e-6,
    "nanometer": 1e-3,
    "micrometer": 1.0,
    "millimeter": 1e3,
    "centimeter": 1e4,
    "meter": 1e6,
    # spellings seen in the wild beside the OME (UDUNITS-2) names
    "nm": 1e-3,
    "um": 1.0,
    "µm": 1.0,
    "micron": 1.0,
    "mm": 1e3,
    "m": 1e6,
}
"""Micrometres per unit of a space axis."""
MAX_DEPTH = 4
"""How deep below the root images are looked for (bioformats2raw series, a view's groups)."""


class OmeFormatError(ValueError):
    """The metadata is not OME-Zarr 0.4 or 0.5 as this reader understands it."""


@dataclass
class OmeImage:
    """One multiscale image (or image-label) of a store, level 0 only."""

    path: str
    """Below the store's root, ``""`` for the root itself."""
    name: str
    array: zarr.Array
    axes: list[dict[str, Any]]
    scale: list[float]
    """Per axis, level 0 with the multiscale's own transformation applied."""
    translation: list[float]
    version: str
    label: Mapping[str, Any] | None = None
    """``image-label`` of a label image, ``None`` for an image."""
    labels: list[OmeImage] = field(default_factory=list)
    """The label images of its ``labels`` collection."""
    omero: Mapping[str, Any] | None = None
    """The group's ``omero`` rendering metadata (channel labels), where it has one."""


def ome_attrs(group: zarr.Group) -> Mapping[str, Any]:
    """The OME metadata of a group: ``attributes["ome"]`` (0.5) or the attributes (0.4)."""
    attrs = group.attrs.asdict()
    ome = attrs.get("ome")
    return ome if isinstance(ome, Mapping) else attrs


def find_images(root: zarr.Group) -> list[OmeImage]:
    """Every image below ``root`` (and ``root`` itself), each with its labels; a label image
    outside any image's ``labels`` collection counts as an image of its own."""
    found: list[OmeImage] = []
    _walk(root, "", 0, found)
    return found


def _walk(group: zarr.Group, path: str, depth: int, found: list[OmeImage]) -> None:
    attrs = ome_attrs(group)
    if "multiscales" in attrs:
        image = read_image(group, path)
        if "labels" in attrs or "labels" in _group_keys(group):
            image.labels = _labels_of(group, path)
        found.append(image)
        return
    if depth >= MAX_DEPTH:
        return
    for name in sorted(_group_keys(group)):
        _walk(group[name], f"{path}/{name}".lstrip("/"), depth + 1, found)


def _group_keys(group: zarr.Group) -> list[str]:
    return [name for name, _ in group.groups()]


def _labels_of(image: zarr.Group, path: str) -> list[OmeImage]:
    if "labels" not in _group_keys(image):
        return []
    collection = image["labels"]
    names = ome_attrs(collection).get("labels", [])
    if not isinstance(names, list):
        raise OmeFormatError(f"{path}/labels: `labels` must list the label images")
    out = []
    for name in names:
        try:
            out.append(read_image(collection[name], f"{path}/labels/{name}".lstrip("/")))
        except KeyError:
            raise OmeFormatError(f"{path}/labels lists {name!r}, which is not there") from None
    return out


def read_image(group: zarr.Group, path: str) -> OmeImage:
    """The level-0 array, axes and placement of the multiscale image at ``group``."""
    attrs = ome_attrs(group)
    where = path or "/"
    multiscales = attrs.get("multiscales")
    if not isinstance(multiscales, list) or not multiscales:
        raise OmeFormatError(f"{where}: `multiscales` must be a non-empty list")
    multiscale = multiscales[0]
    version = str(attrs.get("version") or multiscale.get("version") or "")
    if version not in VERSIONS:
        raise OmeFormatError(
            f"{where}: OME-Zarr version {version or '(none)'}; this reader reads "
            f"{' and '.join(VERSIONS)}"
        )
    axes = multiscale.get("axes")
    if not isinstance(axes, list) or not all(isinstance(a, Mapping) for a in axes):
        raise OmeFormatError(f"{where}: `axes` must be a list of objects (OME-Zarr 0.4+)")
    datasets = multiscale.get("datasets") or []
    if not datasets:
        raise OmeFormatError(f"{where}: the multiscale lists no datasets")
    level0 = datasets[0]
    scale, shift = _transforms(level0.get("coordinateTransformations"), len(axes), where)
    outer, outer_shift = _transforms(
        multiscale.get("coordinateTransformations"), len(axes), where, required=False
    )
    try:
        array = group[level0["path"]]
    except KeyError:
        raise OmeFormatError(f"{where}: level 0 ({level0.get('path')!r}) is not stored") from None
    if len(array.shape) != len(axes):
        raise OmeFormatError(f"{where}: level 0 has {len(array.shape)} dimensions, "
                             f"the axes name {len(axes)}")  # fmt: skip
    return OmeImage(
        path=path,
        name=str(multiscale.get("name") or path.rsplit("/", 1)[-1] or "image"),
        array=array,
        axes=[dict(a) for a in axes],
        scale=[s * o for s, o in zip(scale, outer, strict=True)],
        translation=[t * o + u for t, o, u in zip(shift, outer, outer_shift, strict=True)],
        version=version,
        label=attrs.get("image-label") if "image-label" in attrs else None,
        omero=attrs.get("omero") if isinstance(attrs.get("omero"), Mapping) else None,
    )


def _transforms(
    transforms: Sequence[Mapping[str, Any]] | None, ndim: int, where: str, *, required: bool = True
) -> tuple[list[float], list[float]]:
    """The scale and translation of a list of transformations (identity where absent)."""
    scale, shift = [1.0] * ndim, [0.0] * ndim
    if not transforms:
        if required:
            raise OmeFormatError(f"{where}: level 0 has no coordinateTransformations")
        return scale, shift
    for transform in transforms:
        kind = transform.get("type")
        if kind not in ("scale", "translation", "identity"):
            raise OmeFormatError(f"{where}: transformation {kind!r} is not read (scale and "
                                 "translation are)")  # fmt: skip
        if kind == "identity":
            continue
        values = transform.get(kind)
        if not isinstance(values, list) or len(values) != ndim:
            raise OmeFormatError(f"{where}: a {kind} must give {ndim} numbers inline, "
                                 f"got {values!r}")  # fmt: skip
        if kind == "scale":
            scale = [float(v) for v in values]
        else:
            shift = [float(v) for v in values]
    return scale, shift
