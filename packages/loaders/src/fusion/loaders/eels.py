"""EELS spectra and spectrum images: Gatan ``.dm3``/``.dm4`` and EMSA ``.msa``, via RosettaSciIO.

Each EELS signal of the file becomes a scale group (``eels``, then ``eels_2`` ...) holding one
``spectrum`` channel on ``(z, y, x, energy_loss)``: counts as stored, ``modality: EELS``,
``origin: measured``. Signals of other kinds in the same file (images, EDS) are never labelled
EELS: they are left out with a `LoaderWarning`.

Axes:

* ``energy_loss``: float64 eV, ``offset + scale * index`` as RosettaSciIO calibrates it (for DM,
  ``offset = -Origin * Scale``), reversed together with the data if the dispersion is negative.
* spatial: a spectrum image's pixel size and offset come from the file's calibration (any
  length unit, converted to µm), axes in the stored order (y, x): the dm4 (E, y, x) layout is
  reordered. Without a length calibration ``voxel_size_um`` is required. A single spectrum has
  ``z = y = x`` of length 1 at 0 µm: the format derives voxel sizes from coordinates only, and
  a length-1 axis has none, so no probe size is invented (``voxel_size_um``, if given, is only
  recorded in the load parameters).

Acquisition settings are kept as channel attributes with units in their names
(``beam_energy_kV``, ``convergence_semi_angle_mrad``, ``collection_semi_angle_mrad``,
``exposure_s`` per frame, ``frames``, ``integration_time_s``, ``acquired`` as ISO 8601 local
time without a zone, ``brightness_scale`` = the DM intensity calibration, e.g. e-/count);
everything the reader returned is in ``original_metadata`` (DM tag arrays of more than 4096
values, e.g. per-readout ``Saturation fraction``, as ``<array (n,)>``). DM files larger than
`LAZY_BYTES` are read lazily (dask).

Velox ``.emd``: the EELS spectrum images of the file (RosettaSciIO's ``rsciio.emd``, see
`fusion.loaders._velox`), one group each as above; its EDS spectrum images, element maps and
images are left out with a `LoaderWarning` (``fusion load eds`` reads them). A Velox file
without an EELS spectrum image is refused (`NoSignalError`, exit 1). No real Velox EELS file was
available: the tests use files written to the container's layout.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema import option_error

from ._base import LoaderError, LoaderWarning, NoSignalError
from ._build import dataset
from ._provenance import (
    Digest,
    file_entity,
    make_tree,
    original_metadata,
    record_load,
    software,
    spatial_coords,
)
from ._velox import as_array, counted, nothing_of, read_velox, signal_title

__all__ = ["EelsLoader"]

GROUP = "eels"
READERS = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".emd": "emd"} | (
    dict.fromkeys((".msa", ".ems", ".mas", ".emsa"), "msa")
)
FORMATS = {
    "digitalmicrograph": "Gatan DigitalMicrograph",
    "msa": "EMSA/MAS spectral data (ISO 22029)",
    "emd": "Thermo Fisher Velox EMD (HDF5)",
}
LAZY_BYTES = 256 * 2**20
"""DM and Velox files larger than this are read lazily (dask): memory bounded by chunks, not by file."""
LENGTH_UM = {"m": 1e6, "mm": 1e3, "µm": 1.0, "um": 1.0, "nm": 1e-3, "Å": 1e-4, "pm": 1e-6}
METADATA = {
    # RosettaSciIO (HyperSpy) metadata path -> channel attribute
    "General.title": "title",
    "Acquisition_instrument.TEM.beam_energy": "beam_energy_kV",
    "Acquisition_instrument.TEM.convergence_angle": "convergence_semi_angle_mrad",
    "Acquisition_instrument.TEM.Detector.EELS.collection_angle": "collection_semi_angle_mrad",
    "Acquisition_instrument.TEM.Detector.EELS.spectrometer": "spectrometer",
    "Acquisition_instrument.TEM.acquisition_mode": "acquisition_mode",
    "Acquisition_instrument.TEM.magnification": "magnification",
    "Acquisition_instrument.TEM.camera_length": "camera_length_mm",
    "Signal.quantity": "intensity_quantity",
    "Signal.Noise_properties.Variance_linear_model.gain_factor": "brightness_scale",
    "Signal.Noise_properties.Variance_linear_model.gain_offset": "brightness_offset",
}
DM_TAGS = {
    # DM tag under ImageTags -> channel attribute (tags RosettaSciIO's mapping does not resolve
    # outside HyperSpy: it looks them up by HyperSpy's slugified names)
    "Microscope Info.Name": "microscope",
    "EELS.Acquisition.Exposure (s)": "exposure_s",
    "EELS.Acquisition.Number of frames": "frames",
    "EELS.Acquisition.Integration time (s)": "integration_time_s",
    "EELS.Acquisition.Dual acquire enabled": "dual_acquire_enabled",
    "EELS Spectrometer.Aperture label": "spectrometer_aperture",
}


class EelsLoader:
    """EELS spectra and spectrum images (``.dm3``, ``.dm4``, ``.msa``) read with RosettaSciIO."""

    kind = "eels"
    description = (
        "EELS spectra and spectrum images: Gatan .dm3/.dm4, EMSA .msa, Velox .emd, RosettaSciIO"
    )

    def can_open(self, path: Path) -> bool:
        """True for a file with a DigitalMicrograph or EMSA suffix (any case)."""
        return path.is_file() and path.suffix.lower() in READERS

    def open(
        self,
        path: Path,
        *,
        material: str = "unspecified",
        voxel_size_um: float | Sequence[float] | None = None,
    ) -> xr.DataTree:
        """Read the EELS signals of a file.

        Parameters
        ----------
        path
            ``.dm3``, ``.dm4`` or ``.msa`` file.
        material
            Sample material to record.
        voxel_size_um
            Pixel size in µm (one value, or z y x) for spectrum images whose file has no length
            calibration; it replaces the file's calibration (with a `LoaderWarning`) otherwise.

        Raises
        ------
        LoaderError
            Unreadable or truncated file, no EELS signal in it, no energy axis in eV, or a
            spectrum image without a length calibration and no ``voxel_size_um``.
        """
        reader = READERS[path.suffix.lower()]
        with (
            record_load(voxel_size_um=voxel_size_um) as record,
            Digest(path) as digest,  # hashed while RosettaSciIO reads
        ):
            signals = (
                _velox_eels(path) if reader == "emd" else _eels_signals(path, _read(path, reader))
            )
            groups = [_dataset(path, signal, voxel_size_um) for signal in signals]
            entity = file_entity(path, format=FORMATS[reader], sha256=digest.hexdigest())
        return make_tree(
            title=path.name,
            group=GROUP,
            dataset=groups[0],
            extra_groups={f"{GROUP}_{i}": ds for i, ds in enumerate(groups[1:], start=2)},
            entity=entity,
            reader=software("rosettasciio"),
            record=record,
            material=material,
        )


# -- reading ----------------------------------------------------------------------------------


def _read(path: Path, reader: str) -> list[dict[str, Any]]:
    """RosettaSciIO's signal dictionaries (large DM files lazy); reader warnings are ours."""
    module = importlib.import_module(f"rsciio.{reader}")
    lazy = reader == "digitalmicrograph" and path.stat().st_size > LAZY_BYTES
    options = {"lazy": True} if lazy else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            signals = module.file_reader(str(path), **options)
        except Exception as err:
            raise LoaderError(
                f"{path}: RosettaSciIO cannot read it as {FORMATS[reader]}: {err}"
            ) from err
    for warning in caught:
        warnings.warn(f"{path}: rosettasciio: {warning.message}", LoaderWarning, stacklevel=4)
    if reader == "msa":
        _check_msa(path, signals[0])
    return signals


def _velox_eels(path: Path) -> list[dict[str, Any]]:
    """The EELS spectrum images of a Velox file; the rest is named in a warning."""
    found = read_velox(path, LAZY_BYTES)
    if not found.eels:
        raise NoSignalError(nothing_of(path, found, "EELS"))
    left = found.left_out + [signal_title(s) for s in (*found.eds, *found.element_maps,
                                                        *found.images)]  # fmt: skip
    if left:
        warnings.warn(f"{path}: not EELS, not loaded: {counted(left)}", LoaderWarning,
                      stacklevel=4)  # fmt: skip
    return found.eels


def _check_msa(path: Path, signal: dict[str, Any]) -> None:
    """An EMSA file must hold as many points as its NPOINTS keyword says (else: truncated)."""
    stated = signal["original_metadata"].get("NPOINTS")
    found = int(np.asarray(signal["data"]).size)
    if found == 0 or stated is None:
        raise LoaderError(f"{path}: no EMSA spectrum in it (NPOINTS {stated}, {found} values)")
    if int(stated) != found:
        raise LoaderError(f"{path}: truncated: NPOINTS says {int(stated)} values, found {found}")


def _eels_signals(path: Path, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The signals RosettaSciIO types as EELS; the others are left out with a warning."""
    kinds = [signal["metadata"].get("Signal", {}).get("signal_type", "") for signal in signals]
    eels = [signal for signal, kind in zip(signals, kinds, strict=True) if kind == "EELS"]
    if not eels:
        raise LoaderError(f"{path}: no EELS signal in it (signal types found: {kinds})")
    others = [
        f"{signal['metadata'].get('General', {}).get('title', '?')} ({kind or 'untyped'})"
        for signal, kind in zip(signals, kinds, strict=True)
        if kind != "EELS"
    ]
    if others:
        warnings.warn(
            f"{path}: not EELS, not loaded: {', '.join(others)}", LoaderWarning, stacklevel=4
        )
    return eels


# -- axes -------------------------------------------------------------------------------------


def _dataset(
    path: Path, signal: dict[str, Any], voxel_size_um: float | Sequence[float] | None
) -> xr.Dataset:
    """One scale group: the spectrum on (z, y, x, energy_loss) with its coordinates."""
    axes = sorted(signal["axes"], key=lambda axis: axis["index_in_array"])
    energy = [axis for axis in axes if axis.get("units") == "eV"]
    if len(energy) != 1:
        raise LoaderError(
            f"{path}: expected one energy axis in eV, found axes "
            f"{[(a.get('name'), a.get('units')) for a in axes]}"
        )
    spatial = yx_first([axis for axis in axes if axis is not energy[0]])
    if len(spatial) > 2:
        raise LoaderError(f"{path}: {len(spatial)} axes besides energy; expected at most y and x")
    data = as_array(signal["data"]).transpose([a["index_in_array"] for a in (*spatial, energy[0])])
    data, loss = increasing_axis(path, data, -1, energy[0])
    coords, data, shape = spatial_coords_of(path, data, spatial, voxel_size_um)
    coords["energy_loss"] = xr.Variable(
        "energy_loss", loss, {"units": "eV", "long_name": "energy loss"}
    )
    spectrum = xr.Variable(
        ("z", "y", "x", "energy_loss"), data.reshape((*shape, -1)), _attrs(signal)
    )
    return dataset({"spectrum": spectrum}, coords)


def yx_first(axes: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Spatial axes in (y, x) order where the reader names them so, else in array order:
    the names say which is which, whatever the order of the axes in the array."""
    if sorted(str(a.get("name")) for a in axes) == ["x", "y"]:
        return sorted(axes, key=lambda a: a.get("name") != "y")
    return axes


def spatial_coords_of(
    path: Path,
    data: Any,
    spatial: list[Mapping[str, Any]],
    voxel_size_um: float | Sequence[float] | None,
) -> tuple[dict[str, xr.Variable], Any, tuple[int, ...]]:
    """The z, y, x coordinates (µm) of the leading spatial axes of ``data`` (flipped where
    their scale is negative), the data, and the (z, y, x) shape (length 1 for absent axes)."""
    steps, origins = [], []
    for position, axis in enumerate(spatial):
        data, (origin, step) = increasing_axis(path, data, position, axis)
        origins.append(origin)
        steps.append(step)
    steps, origins = spatial_um(path, spatial, steps, origins, voxel_size_um)
    shape = (1,) * (3 - len(spatial)) + tuple(a["size"] for a in spatial)
    coords = spatial_coords(
        shape, (0.0,) * (3 - len(steps)) + steps, (0.0,) * (3 - len(origins)) + origins
    )
    return coords, data, shape


def increasing_axis(
    path: Path, data: Any, position: int, axis: Mapping[str, Any]
) -> tuple[Any, Any]:
    """Flip ``data`` along ``position`` when the axis scale is negative.

    Returns the data and, for the energy axis (``position == -1``), the float64 coordinate;
    for a spatial axis, ``(origin, step)`` in the axis's own unit.
    """
    n, scale, offset = axis["size"], float(axis["scale"]), float(axis["offset"])
    if scale == 0 or not np.isfinite(scale):
        raise LoaderError(f"{path}: axis {axis.get('name')!r} has scale {scale}: not calibrated")
    if scale < 0:
        data = data[(slice(None),) * (position % data.ndim) + (slice(None, None, -1),)]
        offset, scale = offset + scale * (n - 1), -scale
    if position == -1:
        return data, offset + scale * np.arange(n, dtype=np.float64)
    return data, (offset, scale)


def spatial_um(
    path: Path,
    axes: list[Mapping[str, Any]],
    steps: list[float],
    origins: list[float],
    voxel_size_um: float | Sequence[float] | None,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Steps and origins of the spatial axes in µm, from the file or from ``voxel_size_um``."""
    factors = [LENGTH_UM.get(str(axis.get("units"))) for axis in axes]
    from_file = tuple(s * f for s, f in zip(steps, factors, strict=True) if f is not None)
    um_origins = tuple(o * (f or 0.0) for o, f in zip(origins, factors, strict=True))
    if voxel_size_um is None or not axes:
        if len(from_file) != len(axes):
            units = [axis.get("units") for axis in axes]
            raise option_error(
                LoaderError,
                f"{path}: the spatial axes have no length calibration (units {units}); "
                "pass {voxel_size_um} in micrometres",
                voxel_size_um="...",
            )
        return from_file, um_origins
    given = _voxel_zyx(path, voxel_size_um)[3 - len(axes) :]
    if from_file and not np.allclose(given, from_file, rtol=1e-6):
        warnings.warn(
            f"{path}: voxel_size_um {given} replaces the file's pixel size {from_file} um",
            LoaderWarning,
            stacklevel=4,
        )
    return given, um_origins


def _voxel_zyx(path: Path, voxel_size_um: float | Sequence[float]) -> tuple[float, float, float]:
    """``voxel_size_um`` as (z, y, x) in µm: one value for all three, or three values."""
    sizes = [float(v) for v in np.atleast_1d(voxel_size_um)]
    if len(sizes) not in (1, 3) or min(sizes) <= 0:
        raise LoaderError(
            f"{path}: voxel_size_um must be one or three positive values, got {sizes}"
        )
    return tuple(sizes * 3 if len(sizes) == 1 else sizes)  # type: ignore[return-value]


# -- attributes -------------------------------------------------------------------------------


def _attrs(signal: dict[str, Any]) -> dict[str, Any]:
    """Channel attributes: the fusion ones, acquisition settings, the reader's metadata."""
    attrs: dict[str, Any] = {
        "long_name": "EELS intensity",
        "units": "counts",
        "modality": "EELS",
        "origin": "measured",
    }
    flat = _flatten(signal["metadata"]) | _mapped(signal)
    attrs |= {name: flat[key] for key, name in METADATA.items() if flat.get(key) not in (None, "")}
    tags = _image_tags(signal)
    for key, name in DM_TAGS.items():
        if (value := value_at(tags, key)) is not None:
            attrs[name] = value
    if date := flat.get("General.date"):
        attrs["acquired"] = f"{date}T{flat['General.time']}" if flat.get("General.time") else date
    attrs["original_metadata"] = original_metadata(_as_arrays(signal["original_metadata"]))
    return {key: _plain(value) for key, value in attrs.items()}


_NUMBERS = {int, float}
ARRAY_LIMIT = 4096
"""Longest array `fusion.loaders._provenance.jsonable` keeps as numbers."""


def _as_arrays(tree: Any) -> Any:
    """DM tag arrays (lists of numbers) as `original_metadata` keeps numpy arrays: up to its
    array size limit (`ARRAY_LIMIT` values) as numbers, beyond it as ``"<array (n,)>"``;
    per-readout lists such as ``Saturation fraction`` grow with the scan.

    Lists of one type stay lists (mixed ones go through numpy, which makes them floats): the
    same JSON as converting every list to an array and back, without the round trip.
    """
    if isinstance(tree, Mapping):
        return {key: _as_arrays(value) for key, value in tree.items()}
    if isinstance(tree, list) and tree:
        types = set(map(type, tree))
        if types <= _NUMBERS:
            if len(tree) > ARRAY_LIMIT:
                return f"<array {(len(tree),)}>"
            return np.asarray(tree).tolist() if len(types) == 2 else tree  # rare: mixed
    return tree


def _mapped(signal: dict[str, Any]) -> dict[str, Any]:
    """RosettaSciIO's DM tag -> metadata mapping applied to leaf tags, as HyperSpy does on load."""
    out = {}
    for source, (target, convert) in signal.get("mapping", {}).items():
        value = value_at(signal["original_metadata"], source)
        if value is None or isinstance(value, Mapping):
            continue
        try:
            out[target] = convert(value) if convert else value
        except Exception as err:
            warnings.warn(
                f"{source} = {value!r} not understood: {err}", LoaderWarning, stacklevel=2
            )
    return out


def _image_tags(signal: dict[str, Any]) -> Mapping[str, Any]:
    """The ``ImageTags`` group of a DM signal (empty for other formats)."""
    roots = [
        key[: -len(".ImageTags")] for key in signal.get("mapping", {}) if key.endswith(".ImageTags")
    ]
    tags = value_at(signal["original_metadata"], f"{roots[0]}.ImageTags") if roots else None
    return tags if isinstance(tags, Mapping) else {}


def value_at(tree: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of nested mappings, or None."""
    node: Any = tree
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so attributes are plain JSON."""
    return value.item() if isinstance(value, np.generic) else value
