"""Colours of voxel values: phase labels from their ``flag_colors``, orientations as
inverse-pole-figure (IPF) colours.

Orientation channels hold crystal-to-sample unit quaternions (spec 0.1 §6.7); orix's
`Orientation` is the sample-to-crystal rotation, so each quaternion is conjugated before it is
coloured. The colour is that of the crystal direction parallel to the sample z axis, in the
TSL key of the phase's Laue group (`orix.plot.IPFColorKeyTSL`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib import colors as mcolors

from fusion.schema import SchemaError

__all__ = ["BACKGROUND", "ipf_rgb", "label_legend", "labels_rgb", "point_group"]

BACKGROUND = (1.0, 1.0, 1.0)
"""Colour of voxels with no value to show: NaN orientations, labels outside ``flag_values``."""

# spec point groups that orix names differently; each maps to a group of the same Laue class,
# which is all an IPF colour key depends on
POINT_GROUP_ALIASES = {
    "m": "11m",
    "-4m2": "-42m",
    "3m1": "3m",
    "31m": "3m",
    "-3m1": "-3m",
    "-31m": "-3m",
    "-62m": "-6m2",
}


def label_legend(attrs: Mapping) -> list[tuple[int, str, tuple[float, float, float]]]:
    """``(value, meaning, rgb)`` for each flag of a label channel.

    Colours come from ``flag_colors`` (alpha dropped); a channel without them gets the
    matplotlib ``tab10`` colours in flag order.
    """
    values = [int(v) for v in attrs["flag_values"]]
    meanings = str(attrs.get("flag_meanings", "")).split() or [str(v) for v in values]
    given = attrs.get("flag_colors")
    palette = given if given else [colormaps["tab10"](i % 10) for i in range(len(values))]
    return [
        (value, meaning, mcolors.to_rgb(colour))
        for value, meaning, colour in zip(values, meanings, palette, strict=True)
    ]


def labels_rgb(labels: np.ndarray, attrs: Mapping) -> np.ndarray:
    """An RGB image (..., 3) of a label slice in its flag colours."""
    rgb = np.empty((*labels.shape, 3))
    rgb[...] = BACKGROUND
    for value, _, colour in label_legend(attrs):
        rgb[labels == value] = colour
    return rgb


def point_group(name: str):
    """The orix point group of a Hermann–Mauguin name as the spec writes it (e.g. ``-3m``)."""
    from orix.quaternion import symmetry

    wanted = POINT_GROUP_ALIASES.get(name, name)
    for candidate in vars(symmetry).values():
        if isinstance(candidate, symmetry.Symmetry) and candidate.name == wanted:
            return candidate
    raise SchemaError(f"crystal_symmetry: unknown point group {name!r}")


def ipf_rgb(
    quaternions: np.ndarray,
    symmetry: Mapping[str, str],
    phases: np.ndarray | None = None,
    phase_attrs: Mapping | None = None,
) -> np.ndarray:
    """IPF-z colours (..., 3) of crystal-to-sample quaternions (..., 4) in (w, x, y, z) order.

    ``symmetry`` maps phase names to point groups (the channel's ``crystal_symmetry``). With
    one phase every indexed voxel takes its group; with several, ``phases`` (labels of the same
    shape) and their ``phase_attrs`` say which voxel is which. NaN quaternions are background.
    """
    rgb = np.empty((*quaternions.shape[:-1], 3))
    rgb[...] = BACKGROUND
    indexed = np.all(np.isfinite(quaternions), axis=-1)
    for name, group in symmetry.items():
        where = indexed & _phase_mask(name, len(symmetry), phases, phase_attrs)
        if where.any():
            rgb[where] = _ipf_z(quaternions[where], point_group(group))
    return rgb


def _phase_mask(
    name: str, n_phases: int, phases: np.ndarray | None, phase_attrs: Mapping | None
) -> np.ndarray | bool:
    if phases is None or phase_attrs is None:
        if n_phases > 1:
            raise SchemaError(
                f"crystal_symmetry names {n_phases} phases but the channel has no phase_channel"
            )
        return True
    for value, meaning, _ in label_legend(phase_attrs):
        if meaning == name:
            return phases == value
    raise SchemaError(f"phase {name!r} of crystal_symmetry is not in the phase channel's flags")


def _ipf_z(crystal_to_sample: np.ndarray, group) -> np.ndarray:
    from orix.plot import IPFColorKeyTSL
    from orix.quaternion import Orientation
    from orix.vector import Vector3d

    unit = crystal_to_sample / np.linalg.norm(crystal_to_sample, axis=-1, keepdims=True)
    sample_to_crystal = unit * np.array([1.0, -1.0, -1.0, -1.0])  # the conjugate
    orientation = Orientation(sample_to_crystal, symmetry=group)
    key = IPFColorKeyTSL(group, direction=Vector3d.zvector())
    return key.orientation2color(orientation)
