"""`add_crystallography`: grains and orientations from a real EBSD map onto a phase volume."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ._ebsd import GrainMap, ebsd_grains
from ._errors import TransferError
from ._growth import FIT_ATTR, grow_grains
from ._orientations import assign_orientations
from ._phases import phase_value, target_group
from ._provenance import extend, now, source_file

__all__ = ["add_crystallography"]

CHANNELS = ("grain_id", "orientation")


def add_crystallography(
    tree: xr.DataTree,
    group: str,
    ebsd: xr.DataTree,
    *,
    crystal_phase: str = "NMC",
    threshold_deg: float = 5.0,
    seed: int = 0,
    point_group: str = "-3m",
    ebsd_phase: str | None = None,
    min_pixels: int = 5,
    size_scale: float = 1.0,
    weighting: Literal["area", "number"] = "area",
    phase_channel: str = "phase",
) -> xr.DataTree:
    """Give the crystal phase of ``group`` grains and orientations taken from a real EBSD map.

    Parameters
    ----------
    tree
        The dataset; ``group`` holds a label channel ``phase_channel`` naming ``crystal_phase``.
    group
        The scale group to add ``grain_id`` and ``orientation`` to.
    ebsd
        A loaded EBSD map (``fusion.loaders.load("ebsd", ...)``).
    crystal_phase
        The phase (a word of the label channel's ``flag_meanings``) to split into grains.
    threshold_deg, ebsd_phase, min_pixels
        Grain finding in the map (`ebsd_grains`: misorientation threshold, the map's phase,
        smallest grain).
    seed
        Seed of the nucleation and of the orientation draws.
    point_group
        Point group of ``crystal_phase`` recorded in ``crystal_symmetry`` (NMC: ``-3m``).
    size_scale
        Factor on the map's grain sizes (`grow_grains`).
    weighting
        How map grains are drawn (`assign_orientations`).
    phase_channel
        The label channel of ``group``.

    Returns
    -------
    xarray.DataTree
        A new tree (``tree`` is not changed) with ``grain_id`` and ``orientation`` in ``group``,
        origin ``generated``, made by a ``transfer`` activity that used the EBSD file's entity
        and the label channel.

    Raises
    ------
    TransferError
        A missing group, label channel or phase, channels already present, an EBSD map without
        grains of the phase, or a volume without the crystal phase.
    """
    started = now()
    labels, value = _crystal_labels(tree, group, phase_channel, crystal_phase)
    grains = ebsd_grains(ebsd, threshold_deg=threshold_deg, phase=ebsd_phase, min_pixels=min_pixels)
    source = source_file(ebsd, "/ebsd/orientation")
    grain_id = grow_grains(
        labels, crystal_phase=value, grains=grains, seed=seed, size_scale=size_scale
    )
    orientation = assign_orientations(grain_id, grains, seed=seed, weighting=weighting)
    channels = _channels(grain_id, orientation, grains, crystal_phase, point_group, phase_channel)
    parameters = _parameters(grains, grain_id.attrs[FIT_ATTR], crystal_phase=crystal_phase,
                             point_group=point_group, threshold_deg=threshold_deg,
                             min_pixels=min_pixels, seed=seed, weighting=weighting)  # fmt: skip
    return extend(
        tree,
        group,
        channels=channels,
        coords={"quat": orientation["quat"].variable},
        source=source,
        used_channels=[phase_channel],
        activity="transfer-crystallography",
        parameters=parameters,
        started=started,
        description=f"grains grown in {crystal_phase} to the grain-section sizes of "
        f"{grains.source}; orientations drawn from its grains",
    )


def _crystal_labels(
    tree: xr.DataTree, group: str, phase_channel: str, crystal_phase: str
) -> tuple[xr.DataArray, int]:
    """The label channel of ``group`` and the value of ``crystal_phase`` in it, checked: no
    channel of this transfer there yet, and at least one voxel of the phase."""
    ds = target_group(tree, group, phase_channel)
    present = [name for name in CHANNELS if name in ds]
    if present:
        raise TransferError(f"/{group} already holds {present}; remove them first")
    value = phase_value(ds[phase_channel], crystal_phase, f"/{group}/{phase_channel}")
    labels = ds[phase_channel]
    if not (labels.values == value).any():
        raise TransferError(f"/{group}/{phase_channel}: no voxel of phase {crystal_phase!r}")
    return labels, value


def _parameters(
    grains: GrainMap,
    fit: dict[str, Any],
    *,
    crystal_phase: str,
    point_group: str,
    threshold_deg: float,
    min_pixels: int,
    seed: int,
    weighting: str,
) -> dict[str, Any]:
    """The transfer's parameters: the options, the map's grain statistics and the fit."""
    return {
        "crystal_phase": crystal_phase,
        "point_group": point_group,
        "ebsd_file": grains.source,
        "ebsd_phase": grains.phase,
        "ebsd_point_group": grains.point_group,
        "threshold_deg": threshold_deg,
        "min_pixels": min_pixels,
        "seed": seed,
        "weighting": weighting,
        "ebsd_pixel_size_um": grains.pixel_size_um,
        "ebsd_grain_median_um": float(np.median(grains.equivalent_diameters_um)),
        "ebsd_grain_mean_um": float(np.mean(grains.equivalent_diameters_um)),
        **fit,
    }


def _channels(
    grain_id: xr.DataArray,
    orientation: xr.DataArray,
    grains: GrainMap,
    crystal_phase: str,
    point_group: str,
    phase_channel: str,
) -> dict[str, xr.Variable]:
    """The ``grain_id`` and ``orientation`` channels with their attributes."""
    common = {"modality": "EBSD", "origin": "generated", "units": "1"}
    return {
        "grain_id": xr.Variable(
            ("z", "y", "x"),
            grain_id.values,
            {**common, "long_name": f"grain id (0 outside {crystal_phase})"},
        ),
        "orientation": xr.Variable(
            ("z", "y", "x", "quat"),
            orientation.values,
            {
                **common,
                "long_name": "crystal orientation",
                "rotation": "crystal_to_sample",
                "crystal_symmetry": {crystal_phase: point_group},
                "phase_channel": phase_channel,
                "source_point_group": grains.point_group,
                "comment": _orientation_comment(grains.source, grains.point_group, point_group),
            },
        ),
    }


def _orientation_comment(source: str, map_group: str, point_group: str) -> str:
    same = map_group == point_group
    return (
        f"Orientations drawn from the grain mean orientations of the EBSD map {source} "
        f"(point group {map_group}), each times a random symmetry operation of that group. "
        + (
            ""
            if same
            else f"The map is not of this phase ({point_group}): the orientations are "
            "statistically those of another material, in its crystal frame. "
        )
        + "NaN quaternions outside the crystal phase."
    )
