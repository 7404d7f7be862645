"""`add_chemistry`: per-phase EELS spectra of a real file, projected onto a phase volume.

What an EELS file gives without further assumptions is spectra, not compositions: turning
edge intensities into atomic fractions needs cross-sections for the beam energy and the
collection angle, which EMSA files do not record, and hydrogenic L-edge cross-sections are
poor for the white lines of transition metals. So each phase gets the *mean spectrum* of the
file's pixels assigned to it (all pixels of a single spectrum or a spectrum image by default),
stored once per phase, and every voxel says which of these spectra it carries:

``phase_spectrum`` (coordinate on ``(spectrum, energy_loss)``)
    The mean spectra, one row per phase named by the ``spectrum`` coordinate, in the file's
    intensity units, with the file's acquisition settings as attributes.
``spectrum_id`` (label channel on ``(z, y, x)``)
    ``k`` where the voxel carries row ``k - 1`` of ``phase_spectrum`` (flag word: the phase),
    ``0`` (``none``) in phases that were given no spectrum.

``voxel_spectra`` expands the pair into a per-voxel spectrum with plain xarray indexing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ._errors import TransferError
from ._phases import phase_value, target_group
from ._provenance import extend, now, source_file, title

__all__ = ["add_chemistry", "phase_spectra", "voxel_spectra"]

CHANNEL = "spectrum_id"
TABLE = "phase_spectrum"
KEPT_ATTRS = ("long_name", "units", "modality", "origin", "provenance", "original_metadata")
"""Attributes of the file's spectrum channel that are not copied onto the table as settings."""


def phase_spectra(
    eels: xr.DataTree,
    phases: Mapping[str, np.ndarray | None],
    *,
    group: str = "eels",
) -> xr.DataArray:
    """Mean spectrum of each phase from a loaded EELS file.

    Parameters
    ----------
    eels
        A tree from ``fusion.loaders.load("eels", ...)``.
    phases
        Phase name -> boolean mask over the file's (y, x) pixels whose spectra are averaged
        for it; None for all pixels.
    group
        The file's EELS group (``eels``, ``eels_2`` ... for files with several signals).

    Returns
    -------
    xarray.DataArray
        ``(spectrum, energy_loss)`` float64: one row per phase, coordinate ``spectrum`` the
        phase names; attribute ``pixels`` the number of pixels averaged per phase.
    """
    if group not in eels.children or "spectrum" not in eels[group].to_dataset(inherit=False):
        raise TransferError(f"{title(eels)}: no group {group!r} with a spectrum channel")
    source = source_file(eels, f"/{group}/spectrum").name
    spectrum = eels[group].to_dataset(inherit=False)["spectrum"]
    if "energy_loss" not in spectrum.dims or spectrum.dims[:3] != ("z", "y", "x"):
        raise TransferError(
            f"{source}: expected a spectrum on (z, y, x, energy_loss), got dims {spectrum.dims}"
        )
    pixels = np.asarray(spectrum.values[0], dtype=np.float64)  # (y, x, energy)
    rows, counts = [], {}
    for name, mask in phases.items():
        chosen = _pixels(pixels, mask, name, source)
        rows.append(chosen.mean(axis=0))
        counts[name] = int(chosen.shape[0])
    settings = {k: v for k, v in spectrum.attrs.items() if k not in KEPT_ATTRS}
    return xr.DataArray(
        np.stack(rows),
        dims=("spectrum", "energy_loss"),
        coords={
            "spectrum": np.array(list(phases), dtype=object),
            "energy_loss": spectrum["energy_loss"].variable,
        },
        attrs={
            "long_name": "mean EELS spectrum of the phase",
            "units": spectrum.attrs.get("units", "counts"),
            "source": source,
            "pixels": counts,
            **settings,
        },
    )


def _pixels(pixels: np.ndarray, mask: np.ndarray | None, name: str, source: str) -> np.ndarray:
    """The spectra (n, energy) of the pixels a mask selects (all for None)."""
    if mask is None:
        return pixels.reshape(-1, pixels.shape[-1])
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != pixels.shape[:2]:
        raise TransferError(
            f"{source}: the mask of {name!r} must be boolean of shape {pixels.shape[:2]} "
            f"(y, x pixels of the file), got {mask.dtype} {mask.shape}"
        )
    if not mask.any():
        raise TransferError(f"{source}: the mask of {name!r} selects no pixel")
    return pixels[mask]


def add_chemistry(
    tree: xr.DataTree,
    group: str,
    eels: xr.DataTree,
    *,
    phases: Sequence[str] | Mapping[str, np.ndarray | None] = ("NMC",),
    phase_channel: str = "phase",
    eels_group: str = "eels",
) -> xr.DataTree:
    """Give the phases of ``group`` the mean spectra of a real EELS file.

    Parameters
    ----------
    tree
        The dataset; ``group`` holds a label channel ``phase_channel`` naming the phases.
    group
        The scale group to add ``spectrum_id`` and ``phase_spectrum`` to.
    eels
        A loaded EELS file (``fusion.loaders.load("eels", ...)``).
    phases
        The phases that get a spectrum: names (each the mean of all the file's pixels), or
        name -> boolean (y, x) mask of the file's pixels to average for it.
    phase_channel
        The label channel of ``group``.
    eels_group
        The file's EELS group.

    Returns
    -------
    xarray.DataTree
        A new tree (``tree`` is not changed); the ``transfer`` activity used the EELS file's
        entity and the label channel and generated ``spectrum_id``.

    Raises
    ------
    TransferError
        A missing group, label channel or phase, a file without an energy-loss axis, a bad
        mask, or channels already present.
    """
    started = now()
    ds = target_group(tree, group, phase_channel)
    present = [name for name in (CHANNEL, TABLE, "energy_loss", "spectrum") if name in ds.variables]
    if present:
        raise TransferError(f"/{group} already holds {present}; remove them first")
    selection = dict(phases) if isinstance(phases, Mapping) else dict.fromkeys(phases)
    if not selection:
        raise TransferError(f"/{group}: no phase given to carry a spectrum")
    labels = ds[phase_channel]
    where = f"/{group}/{phase_channel}"
    values = {name: phase_value(labels, name, where) for name in selection}
    table = phase_spectra(eels, selection, group=eels_group)
    source = source_file(eels, f"/{eels_group}/spectrum")
    channel = _row_channel(labels, values, table.attrs["source"])
    return extend(
        tree,
        group,
        channels={CHANNEL: channel},
        coords={
            "energy_loss": table["energy_loss"].variable,
            "spectrum": table["spectrum"].variable,
            TABLE: table.variable,
        },
        source=source,
        used_channels=[phase_channel],
        activity="transfer-chemistry",
        parameters={
            "eels_file": table.attrs["source"],
            "eels_group": eels_group,
            "phases": list(values),
            "pixels": table.attrs["pixels"],
            "table": TABLE,
            "statistic": "mean spectrum over the selected pixels",
        },
        started=started,
        description=f"mean EELS spectra of {table.attrs['source']} given to the phases "
        f"{list(values)}",
    )


def _row_channel(labels: xr.DataArray, values: Mapping[str, int], source: str) -> xr.Variable:
    """The channel naming, per voxel, the row of the spectra table its phase carries."""
    ids = np.zeros(labels.shape, dtype=np.uint8 if len(values) < 255 else np.uint16)
    for row, value in enumerate(values.values(), start=1):
        ids[np.asarray(labels.values) == value] = row
    return xr.Variable(
        ("z", "y", "x"),
        ids,
        {
            "long_name": f"row of {TABLE} carried by the voxel (0: none)",
            "units": "1",
            "modality": "EELS",
            "origin": "generated",
            "flag_values": list(range(len(values) + 1)),
            "flag_meanings": " ".join(["none", *values]),
            "comment": f"spectra: {TABLE}[k - 1] for a voxel holding k, from {source}",
        },
    )


def voxel_spectra(ds: xr.Dataset) -> xr.DataArray:
    """The spectrum of every voxel (z, y, x, energy_loss) of a group `add_chemistry` filled;
    0 where a voxel carries none."""
    table = ds[TABLE].drop_vars("spectrum").values
    rows = np.concatenate([np.zeros((1, table.shape[1])), table])
    ids = np.asarray(ds[CHANNEL].values, dtype=np.int64)
    return xr.DataArray(
        rows[ids],
        dims=("z", "y", "x", "energy_loss"),
        coords={dim: ds[dim] for dim in ("z", "y", "x", "energy_loss")},
        name="spectrum",
        attrs={"units": ds[TABLE].attrs.get("units", "counts")},
    )
