"""EDS spectrum images from Thermo Fisher Velox ``.emd`` files, via RosettaSciIO (format 0.3).

Each EDS spectrum image of the file becomes a scale group (``eds``; ``eds_2``, ``eds_3`` … for
further ones, each with a ``description`` naming the file's title for it) holding:

``spectrum``
    Counts on ``(z, y, x, xray_energy)`` (``z`` of length 1), frames summed, as stored
    (uint16); ``modality: EDS``, ``origin: measured``. ``xray_energy`` in eV from the file's
    offset and dispersion (Velox stores keV: −0.25 keV + 0.01 keV per channel is −250 eV +
    10 eV per channel; the negative offset is kept). The dataset declares ``fusion/0.3``, the
    format version that has ``xray_energy`` (spec/fusion-0.3.md).
element maps
    The maps Velox computed on that spectrum image's grid, one channel per element named by its
    symbol (``C``, ``Ca``, …): net X-ray intensities as Velox shows them (not quantified
    fractions, so not a ``composition`` channel), ``units: counts``, ``origin: derived``.

Every other image (HAADF, BF, DF …) is a group of its own, named by its title in lower case
(``haadf``), channel ``intensity``, ``modality: STEM``: Velox gives it its own origin (the
HAADF here starts at 0 where the spectrum image starts at y −32.39 nm, x −39.59 nm), and each
signal keeps its own. Pixel sizes and origins are converted to µm. The per-detector sum spectra
are sums of the spectrum image and are left out (a `LoaderWarning` names them), as are EELS
spectrum images (``fusion load eels`` reads those). A Velox file without an EDS spectrum image
is refused (`NoSignalError`, exit 1).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema.model.v0_3 import SCHEMA_ID as FUSION_0_3

from ._base import LoaderError, LoaderWarning, NoSignalError
from ._build import dataset
from ._provenance import Digest, file_entity, make_tree, original_metadata, record_load, software
from ._velox import VeloxSignals, as_array, counted, grid_of, nothing_of, read_velox, signal_title
from .eels import LAZY_BYTES, increasing_axis, spatial_coords_of, value_at, yx_first

__all__ = ["EdsLoader"]

GROUP = "eds"
FORMAT = "Thermo Fisher Velox EMD (HDF5)"
ENERGY_EV = {"eV": 1.0, "keV": 1e3}


class EdsLoader:
    """EDS spectrum images (Velox ``.emd``) read with RosettaSciIO."""

    kind = "eds"
    description = "EDS spectrum images with their element maps and images: Velox .emd, RosettaSciIO"

    def can_open(self, path: Path) -> bool:
        """True for a file with the ``.emd`` suffix (any case)."""
        return path.is_file() and path.suffix.lower() == ".emd"

    def open(
        self,
        path: Path,
        *,
        material: str = "unspecified",
        voxel_size_um: float | Sequence[float] | None = None,
    ) -> xr.DataTree:
        """Read the EDS spectrum images of a Velox file, with their element maps and images.

        Raises
        ------
        LoaderError
            Unreadable or truncated file, or an energy axis in another unit than eV or keV.
        NoSignalError
            The file holds no EDS spectrum image (exit 1).
        """
        with record_load(voxel_size_um=voxel_size_um) as record, Digest(path) as digest:
            found = read_velox(path, LAZY_BYTES)
            if not found.eds:
                raise NoSignalError(nothing_of(path, found, "EDS"))
            groups = _groups(path, found, voxel_size_um)
            _say_left_out(path, found)
            entity = file_entity(path, format=FORMAT, sha256=digest.hexdigest())
        names = list(groups)
        return make_tree(
            title=path.name,
            group=names[0],
            dataset=groups[names[0]],
            extra_groups={name: groups[name] for name in names[1:]},
            entity=entity,
            reader=software("rosettasciio"),
            record=record,
            material=material,
            schema=FUSION_0_3,
        )


def _say_left_out(path: Path, found: VeloxSignals) -> None:
    left = found.left_out + [f"{signal_title(s)} (EELS spectrum image)" for s in found.eels]
    if left:
        warnings.warn(f"{path}: not loaded: {counted(left)}", LoaderWarning, stacklevel=4)


def _groups(
    path: Path, found: VeloxSignals, voxel_size_um: float | Sequence[float] | None
) -> dict[str, xr.Dataset]:
    groups: dict[str, xr.Dataset] = {}
    for index, si in enumerate(found.eds, start=1):
        name = GROUP if index == 1 else f"{GROUP}_{index}"
        maps = [m for m in found.element_maps if grid_of(m) == grid_of(si)]
        groups[name] = _spectrum_group(path, si, maps, voxel_size_um, index, len(found.eds))
    for image in found.images:
        base = "".join(c if c.isalnum() or c in "_.-" else "_" for c in signal_title(image).lower())
        name, n = base or "image", 2
        while name in groups:
            name, n = f"{base}_{n}", n + 1
        groups[name] = _image_group(path, image, voxel_size_um)
    return groups


def _spectrum_group(
    path: Path,
    si: dict[str, Any],
    maps: list[dict[str, Any]],
    voxel_size_um: float | Sequence[float] | None,
    index: int,
    count: int,
) -> xr.Dataset:
    axes = sorted(si["axes"], key=lambda axis: axis["index_in_array"])
    (energy,) = [a for a in axes if not a.get("navigate")]
    spatial = yx_first([a for a in axes if a.get("navigate")])
    unit = ENERGY_EV.get(str(energy.get("units")))
    if unit is None:
        raise LoaderError(
            f"{path}: the EDS energy axis is in {energy.get('units')!r}, not eV or keV"
        )
    data = as_array(si["data"]).transpose([a["index_in_array"] for a in (*spatial, energy)])
    data, kev = increasing_axis(path, data, -1, energy)
    coords, data, shape = spatial_coords_of(path, data, spatial, voxel_size_um)
    coords["xray_energy"] = xr.Variable(
        "xray_energy", kev * unit, {"units": "eV", "long_name": "X-ray energy"}
    )
    shared = _settings(si)
    channels = {
        "spectrum": xr.Variable(
            ("z", "y", "x", "xray_energy"),
            data.reshape((*shape, -1)),
            {
                "long_name": "EDS X-ray counts",
                "units": "counts",
                "modality": "EDS",
                "origin": "measured",
                **shared,
                "original_metadata": original_metadata(si["original_metadata"]),
            },
        )
    }
    for element_map in maps:
        values = np.asarray(as_array(element_map["data"]))
        element = signal_title(element_map)
        channels[element] = xr.Variable(
            ("z", "y", "x"),
            values.reshape(shape),
            {"long_name": f"{element} X-ray map (net intensity as Velox computed it)",
             "units": "counts", "modality": "EDS", "origin": "derived", "element": element,
             "comment": "computed by Velox from the spectrum image; not a quantified fraction"},
        )  # fmt: skip
    title = signal_title(si)
    attrs = {"description": f"EDS spectrum image {index} of {count} ({title!r} in {path.name})"}
    return dataset(channels, coords, attrs)


def _image_group(
    path: Path, image: dict[str, Any], voxel_size_um: float | Sequence[float] | None
) -> xr.Dataset:
    axes = yx_first(sorted(image["axes"], key=lambda axis: axis["index_in_array"]))
    data = as_array(image["data"]).transpose([a["index_in_array"] for a in axes])
    coords, data, shape = spatial_coords_of(path, data, axes, voxel_size_um)
    title = signal_title(image)
    attrs = {"long_name": f"{title} detector intensity", "units": "1", "modality": "STEM",
             "origin": "measured", "detector": title, **_settings(image),
             "original_metadata": original_metadata(image["original_metadata"])}  # fmt: skip
    return dataset({"intensity": xr.Variable(("z", "y", "x"), data.reshape(shape), attrs)},
                   coords, {"description": f"{title} image of {path.name}"})  # fmt: skip


def _settings(signal: Mapping[str, Any]) -> dict[str, Any]:
    """Acquisition settings worth a channel attribute; everything is in original_metadata."""
    meta, general = signal["original_metadata"], signal["metadata"].get("General", {})
    out: dict[str, Any] = {}
    volts = value_at(meta, "Optics.AccelerationVoltage")
    if volts is not None:
        out["beam_energy_kV"] = float(volts) / 1e3
    model = [
        value_at(meta, f"Instrument.{k}")
        for k in ("Manufacturer", "InstrumentClass", "InstrumentModel")
    ]
    if any(model):
        out["microscope"] = " ".join(str(m) for m in model if m)
    if dwell := value_at(meta, "Scan.DwellTime"):
        out["dwell_time_s"] = float(dwell)
    if detector := value_at(meta, "BinaryResult.Detector"):
        out["detector_name"] = str(detector)
    if general.get("date"):
        out["acquired"] = f"{general['date']}T{general.get('time', '00:00:00')}"
    return out
