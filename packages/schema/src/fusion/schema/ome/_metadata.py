"""The OME-Zarr 0.5 attributes of the view's groups: multiscale images, label collections and
image-labels, built from a scale group's coordinates and a channel's attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._pyramid import Reduction, level_factors, level_translation

__all__ = [
    "OME_VERSION",
    "SPACE_UNIT",
    "image_label_attrs",
    "labels_attrs",
    "multiscales_attrs",
    "rgba",
]

OME_VERSION = "0.5"
SPACE_UNIT = "micrometer"
"""OME-Zarr's name (UDUNITS-2) for the format's ``um``."""
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
"""Colours of a label channel without ``flag_colors``, in flag order: matplotlib's ``tab10``,
as ``fusion show`` draws them."""


def multiscales_attrs(
    *,
    name: str,
    shape0: Sequence[int],
    voxel_um: Sequence[float],
    origin_um: Sequence[float],
    levels: int,
    reduction: Reduction,
    channel_axis: bool = False,
) -> dict[str, Any]:
    """``{"ome": {"version", "multiscales": [...]}}`` of one image with ``levels`` levels at
    paths ``"0"``, ``"1"``, …; ``shape0`` and the placement are those of the spatial axes
    (z, y, x), preceded by a channel axis ``c`` when ``channel_axis``."""
    axes = [{"name": a, "type": "space", "unit": SPACE_UNIT} for a in "zyx"]
    lead: list[float] = []
    if channel_axis:
        axes.insert(0, {"name": "c", "type": "channel"})
        lead = [1.0]
    datasets = []
    for level in range(levels):
        factors = level_factors(shape0, level)
        scale = [float(s * f) for s, f in zip(voxel_um, factors, strict=True)]
        shift = level_translation(origin_um, voxel_um, factors, reduction)
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [
                    {"type": "scale", "scale": [*lead, *scale]},
                    {"type": "translation", "translation": [*([0.0] if lead else []), *shift]},
                ],
            }
        )
    multiscale = {"name": name, "axes": axes, "datasets": datasets, "type": reduction}
    return {"ome": {"version": OME_VERSION, "multiscales": [multiscale]}}


def labels_attrs(names: Sequence[str]) -> dict[str, Any]:
    """The ``labels`` group of an image: the names of its label images."""
    return {"ome": {"version": OME_VERSION, "labels": list(names)}}


def image_label_attrs(channel_attrs: Mapping[str, Any], *, has_parent: bool) -> dict[str, Any]:
    """``image-label`` of a label channel: a colour and a name per flag value (from
    ``flag_colors``, else `TAB10`, and ``flag_meanings``); an integer channel without flags
    gets none.

    ``source.image`` is the parent image (``../../``, OME's default) where there is one, and
    left out otherwise.

    >>> attrs = {"flag_values": [0, 1], "flag_meanings": "pore NMC",
    ...          "flag_colors": ["#000000", "#ff000080"]}
    >>> label = image_label_attrs(attrs, has_parent=True)
    >>> label["colors"][1], label["properties"][1]
    ({'label-value': 1, 'rgba': [255, 0, 0, 128]}, {'label-value': 1, 'name': 'NMC'})
    """
    label: dict[str, Any] = {"version": OME_VERSION}
    values = channel_attrs.get("flag_values")
    if values is not None:
        values = [int(v) for v in values]
        names = str(channel_attrs.get("flag_meanings", "")).split()
        label["properties"] = [
            {"label-value": v, "name": n} for v, n in zip(values, names, strict=True)
        ]
        colours = channel_attrs.get("flag_colors") or [
            TAB10[i % len(TAB10)] for i in range(len(values))
        ]
        if colours:
            label["colors"] = [
                {"label-value": v, "rgba": rgba(c)} for v, c in zip(values, colours, strict=True)
            ]
    if has_parent:
        label["source"] = {"image": "../../"}
    return label


def rgba(colour: str) -> list[int]:
    """``#rrggbb`` or ``#rrggbbaa`` as four bytes.

    >>> rgba("#1f77b4"), rgba("#ff000080")
    ([31, 119, 180, 255], [255, 0, 0, 128])
    """
    text = colour.lstrip("#")
    if len(text) == 6:
        text += "ff"
    return [int(text[i : i + 2], 16) for i in range(0, 8, 2)]
