"""SEM and FIB-SEM images: FEI/Thermo Fisher and Zeiss SmartSEM TIFF files, read with tifffile.

tifffile parses the vendors' metadata (FEI: tag 34682, ``TiffFile.fei_metadata``; Zeiss: tag
34118, read per page from ``page.tags[34118]`` because ``TiffFile.sem_metadata`` gives page 0
only); this module only picks values out of it, converts them into one unit system and
removes the data bar the instruments burn into the image.

Layout: a single image is the scale group ``image``; a multipage (FIB-SEM) file gives one
scale group per page, ``page0``, ``page1``, ..., each with ``z`` of length 1, because the
pages are not evenly spaced. A page's ``z`` is its nominal milling position, FIB slice index
times slice thickness, where the file gives both. Every group holds one channel,
``intensity`` (the detector grey values as stored, uint8 or uint16, units ``1``).

Channel attributes in one unit system: lengths and positions in µm, angles in degrees,
voltage in kV, current in nA, dwell time in ns (the attribute names carry the unit).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import xarray as xr

from ._base import LoaderError, LoaderWarning
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

__all__ = ["SemLoader", "find_data_zone"]

SUFFIXES = (".tif", ".tiff")
FEI_TAG = 34682
ZEISS_TAG = 34118
ZEISS_REFERENCE_WIDTH = 1024
"""Zeiss stores in ``CZ_SEM['']`` the pixel size of a 1024-pixel-wide image of the same field."""

UM = {"m": 1e6, "mm": 1e3, "µm": 1.0, "μm": 1.0, "um": 1.0, "nm": 1e-3, "pm": 1e-6}
KV = {"V": 1e-3, "kV": 1.0}
NA = {"pA": 1e-3, "nA": 1.0, "µA": 1e3, "μA": 1e3, "uA": 1e3, "mA": 1e6, "A": 1e9}
NS = {"ns": 1.0, "µs": 1e3, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9, "Secs": 1e9}
DEGREE = {"°": 1.0, "deg": 1.0}


@dataclass
class SemPage:
    """One image as read: pixels without the data bar, pixel size and settings."""

    image: np.ndarray
    """Specimen pixels (rows, columns), dtype as stored."""
    pixel_um: tuple[float, float]
    """Pixel size (y, x) in µm."""
    settings: dict[str, Any]
    """Instrument settings as channel attributes, units in the names."""
    metadata: dict[str, Any]
    """The vendor metadata as tifffile gives it."""
    databar_rows: list[int] = field(default_factory=list)
    """[first, last] row (0-based, inclusive) of the cropped data bar; empty if none."""
    z_um: float = 0.0
    """Position of the imaged plane along z in µm."""


class SemLoader:
    """FEI/Thermo Fisher and Zeiss SEM and FIB-SEM TIFF files (tifffile)."""

    kind = "sem"
    description = "FEI/Thermo Fisher and Zeiss SEM / FIB-SEM TIFF (tifffile)"

    def can_open(self, path: Path) -> bool:
        """A file named ``*.tif`` or ``*.tiff``."""
        return path.is_file() and path.suffix.lower() in SUFFIXES

    def open(
        self, path: Path, *, material: str = "unspecified", voxel_size_um: Any = None
    ) -> xr.DataTree:
        """Read an SEM TIFF into a fused dataset.

        Parameters
        ----------
        path
            FEI/Thermo Fisher or Zeiss TIFF file (one image, or one FIB-SEM slice per page).
        material
            Sample material to record.
        voxel_size_um
            Not accepted: SEM files carry their pixel size.

        Raises
        ------
        LoaderError
            The file is not a readable FEI or Zeiss TIFF, or a caller voxel size was given.
        """
        if voxel_size_um is not None:
            raise LoaderError(f"{path}: SEM files carry their pixel size; drop --voxel-size")
        with record_load() as record, Digest(path) as digest:
            vendor, pages = read_sem(path, digest)  # the bytes read once: hashed, then parsed
            entity = file_entity(path, format=f"{vendor} SEM TIFF", sha256=digest.hexdigest())
        modality = "FIB-SEM" if len(pages) > 1 else "SEM"
        names = ["image"] if len(pages) == 1 else [f"page{i}" for i in range(len(pages))]
        groups = {name: _dataset(page, modality) for name, page in zip(names, pages, strict=True)}
        first = names[0]
        return make_tree(
            title=f"{modality} {path.name}",
            group=first,
            dataset=groups.pop(first),
            entity=entity,
            reader=software("tifffile"),
            record=record,
            material=material,
            extra_groups=groups,
        )


def read_sem(path: Path, digest: Digest | None = None) -> tuple[str, list[SemPage]]:
    """The vendor (``FEI`` or ``Zeiss``) and the pages of an SEM TIFF.

    With a `Digest` of ``path``, tifffile reads what `Digest.source` hands it.

    Raises
    ------
    LoaderError
        The file is not a TIFF, carries neither FEI nor Zeiss metadata, or is truncated.
    """
    try:
        with tifffile.TiffFile(path if digest is None else digest.source(path)) as tif:
            tags = tif.pages[0].tags
            if FEI_TAG in tags:
                return "FEI", [_fei_page(path, tif)]
            if ZEISS_TAG in tags:
                pages = [_zeiss_page(path, page, i) for i, page in enumerate(tif.pages)]
                _place_slices(path, pages)
                return "Zeiss", pages
    except LoaderError:
        raise
    except Exception as err:
        raise LoaderError(f"{path}: not a readable SEM TIFF ({type(err).__name__}: {err})") from err
    raise LoaderError(
        f"{path}: a TIFF without FEI (tag {FEI_TAG}) or Zeiss (tag {ZEISS_TAG}) metadata"
    )


# -- FEI / Thermo Fisher -------------------------------------------------------------------------


def _fei_page(path: Path, tif: tifffile.TiffFile) -> SemPage:
    md = tif.fei_metadata
    scan, beam, stage = md.get("Scan", {}), md.get("EBeam", {}), md.get("Stage", {})
    try:
        pixel_um = (scan["PixelHeight"] * 1e6, scan["PixelWidth"] * 1e6)
    except KeyError as err:
        raise LoaderError(f"{path}: FEI metadata lacks [Scan] {err.args[0]}") from err
    image = tif.pages[0].asarray()
    bar = int(md.get("PrivateFei", {}).get("DatabarHeight") or 0)
    expected = md.get("Image", {}).get("ResolutionY")
    if expected and image.shape[0] - bar != expected:
        warnings.warn(
            f"{path}: {image.shape[0]} rows minus DatabarHeight {bar} differs from "
            f"[Image] ResolutionY {expected}; cropped DatabarHeight rows",
            LoaderWarning,
            stacklevel=4,
        )
    detectors, system, user = md.get("Detectors", {}), md.get("System", {}), md.get("User", {})
    settings = {
        "accelerating_voltage_kV": _number(beam.get("HV", md.get("Beam", {}).get("HV")), 1e-3),
        "working_distance_um": _number(beam.get("WD", stage.get("WorkingDistance")), 1e6),
        "beam_current_nA": _number(beam.get("BeamCurrent"), 1e9),
        "dwell_time_ns": _number(scan.get("Dwelltime"), 1e9),
        "detector": detectors.get("Name"),
        "signal": detectors.get("Mode"),
        "stage_x_um": _number(stage.get("StageX"), 1e6),
        "stage_y_um": _number(stage.get("StageY"), 1e6),
        "stage_z_um": _number(stage.get("StageZ"), 1e6),
        "stage_rotation_degree": _number(stage.get("StageR"), 180 / math.pi),
        "stage_tilt_degree": _number(stage.get("StageT"), 180 / math.pi),
        "instrument": system.get("SystemType"),
        "instrument_software": system.get("Software"),
        "operator": user.get("User"),
        "acquired": _timestamp(f"{user.get('Date')} {user.get('Time')}", "%m/%d/%Y %I:%M:%S %p"),
    }
    rows = [image.shape[0] - bar, image.shape[0] - 1] if bar else []
    return SemPage(image[: image.shape[0] - bar], pixel_um, _present(settings), md, rows)


# -- Zeiss SmartSEM ------------------------------------------------------------------------------


def _zeiss_page(path: Path, page: tifffile.TiffPage, index: int) -> SemPage:
    if ZEISS_TAG not in page.tags:
        raise LoaderError(f"{path}: page {index} has no Zeiss CZ_SEM tag ({ZEISS_TAG})")
    md = page.tags[ZEISS_TAG].value
    image = page.asarray()
    pixel = _zeiss_pixel_um(path, md, image.shape[1])
    _check_grey_palette(path, page)
    first = find_data_zone(image)
    rows = [] if first is None else [first, image.shape[0] - 1]
    specimen = image if first is None else image[:first]
    return SemPage(specimen, (pixel, pixel), _zeiss_settings(md), md, rows)


def _zeiss_pixel_um(path: Path, md: dict, width: int) -> float:
    """CZ_SEM[''][3] (m, for a 1024-wide image) scaled to ``width``; ap_image_pixel_size else.

    ``ap_pixel_size`` is the 1024-wide reference value and is wrong for other widths.
    """
    image_pixel = _quantity(md, "ap_image_pixel_size", UM)
    reference = md.get("", ())
    if len(reference) > 3 and reference[3]:
        pixel = float(reference[3]) * 1e6 * ZEISS_REFERENCE_WIDTH / width
        if image_pixel and abs(pixel - image_pixel) > 0.01 * image_pixel:
            warnings.warn(
                f"{path}: CZ_SEM pixel size {pixel:.6g} um differs from "
                f"ap_image_pixel_size {image_pixel:.6g} um; used the former",
                LoaderWarning,
                stacklevel=5,
            )
        return pixel
    if image_pixel:
        return image_pixel
    raise LoaderError(
        f"{path}: Zeiss metadata gives no pixel size (CZ_SEM[''] nor ap_image_pixel_size)"
    )


def _zeiss_settings(md: dict) -> dict[str, Any]:
    settings = {
        "accelerating_voltage_kV": _quantity(md, "ap_actualkv", KV),
        "working_distance_um": _quantity(md, "ap_wd", UM),
        "beam_current_nA": _quantity(md, "ap_iprobe", NA),
        "dwell_time_ns": _quantity(md, "dp_dwell_time", NS),
        "magnification": _magnification(md.get("ap_mag")),
        "detector": _text(md, "dp_detector_type"),
        "stage_x_um": _quantity(md, "ap_stage_at_x", UM),
        "stage_y_um": _quantity(md, "ap_stage_at_y", UM),
        "stage_z_um": _quantity(md, "ap_stage_at_z", UM),
        "stage_rotation_degree": _quantity(md, "ap_stage_at_r", DEGREE),
        "stage_tilt_degree": _quantity(md, "ap_stage_at_t", DEGREE),
        "instrument": _text(md, "sv_serial_number"),
        "instrument_software": _text(md, "sv_version"),
        "operator": _text(md, "sv_user_name"),
        "acquired": _timestamp(
            f"{_text(md, 'ap_date')} {_text(md, 'ap_time')}", "%d %b %Y %H:%M:%S"
        ),
    }
    if _text(md, "dp_fib_present") is True:
        index = md.get("ap_fib_slice_index", (None, None))[1]
        settings["fib_slice_index"] = index if isinstance(index, int) else None
        settings["fib_slice_thickness_um"] = _quantity(md, "ap_fib_slice_height", UM)
        settings["fib_slice_y_um"] = _quantity(md, "ap_fib_slice_y", UM)
    return _present(settings)


def _place_slices(path: Path, pages: list[SemPage]) -> None:
    """Put FIB-SEM pages at z = slice index × slice thickness (µm), where the file gives both."""
    if len(pages) < 2:
        return
    positions = []
    for page in pages:
        index = page.settings.get("fib_slice_index")
        thickness = page.settings.get("fib_slice_thickness_um")
        positions.append(index * thickness if index is not None and thickness else None)
    if None in positions or len(set(positions)) < len(positions):
        warnings.warn(
            f"{path}: the pages give no distinct FIB slice positions; all are placed at z = 0",
            LoaderWarning,
            stacklevel=4,
        )
        return
    for page, z in zip(pages, positions, strict=True):
        page.z_um = float(z)


def _check_grey_palette(path: Path, page: tifffile.TiffPage) -> None:
    """Palette images hold indices; they are intensities only under a grey identity ramp."""
    cmap = page.colormap
    if cmap is None:
        return
    ramp = np.linspace(0, cmap.max(), cmap.shape[1]).round()
    if not all(np.array_equal(channel, ramp) for channel in cmap):
        warnings.warn(
            f"{path}: palette is not a grey identity ramp; values are the palette indices",
            LoaderWarning,
            stacklevel=5,
        )


def find_data_zone(image: np.ndarray, search: float = 0.25) -> int | None:
    """First row of a data zone burned into the bottom of a Zeiss image, or None.

    The zone starts with a black line across the image (at least 95 % of its pixels are 0)
    directly above a light panel (at least half of the next row's pixels at 90 % of the
    dtype's maximum or more). The topmost such row in the bottom ``search`` fraction of the
    image is returned.

    >>> image = np.full((40, 8), 100, np.uint8)
    >>> image[35], image[36:] = 0, 255
    >>> find_data_zone(image)
    35
    """
    if image.dtype.kind not in "iu" or image.shape[0] < 2:
        return None
    start = int(image.shape[0] * (1 - search))
    bottom = image[start:]
    width = image.shape[1]  # fractions of a row as numpy's mean computes them, without floats
    dark = np.count_nonzero(bottom[:-1] == 0, axis=1) / width >= 0.95
    threshold = 0.9 * np.iinfo(image.dtype).max
    for row in np.flatnonzero(dark):  # few rows are black: test only the row below each
        if np.count_nonzero(bottom[row + 1] >= threshold) / width >= 0.5:
            return start + int(row)
    return None


# -- values --------------------------------------------------------------------------------------


def _quantity(md: dict, key: str, units: dict[str, float]) -> float | None:
    """A Zeiss ``(label, value, unit)`` entry converted by ``units``; None if absent or unknown."""
    entry = md.get(key)
    if not isinstance(entry, tuple) or len(entry) < 3 or entry[2] not in units:
        return None
    return _number(entry[1], units[entry[2]])


def _text(md: dict, key: str) -> Any:
    """The value of a Zeiss ``(label, value)`` entry."""
    entry = md.get(key)
    return entry[1] if isinstance(entry, tuple) and len(entry) > 1 else None


def _number(value: Any, factor: float = 1.0) -> float | None:
    """``value × factor`` for a finite number, else None (vendors write '' for unset values)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) * factor


def _magnification(entry: Any) -> float | None:
    """Zeiss ``ap_mag``: ``('Mag', 105, 'X')`` or ``('Mag', '4.53 K X')`` as a number.

    >>> _magnification(("Mag", "4.53 K X"))
    4530.0
    """
    if not isinstance(entry, tuple) or len(entry) < 2:
        return None
    if not isinstance(entry[1], str):
        return _number(entry[1])
    match = re.fullmatch(r"\s*([\d.]+)\s*(K?)\s*X\s*", entry[1])
    return float(match[1]) * (1000.0 if match[2] else 1.0) if match else None


def _timestamp(text: str, form: str) -> str | None:
    """Instrument local time as ISO 8601 without a zone (the files give none)."""
    try:
        return dt.datetime.strptime(text, form).isoformat()
    except ValueError:
        return None


def _present(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v is not None and v != ""}


def _dataset(page: SemPage, modality: str) -> xr.Dataset:
    ny, nx = page.image.shape
    coords = spatial_coords((1, ny, nx), (page.pixel_um[1], *page.pixel_um), (page.z_um, 0.0, 0.0))
    detector = " ".join(str(page.settings[k]) for k in ("signal", "detector") if k in page.settings)
    attrs = {
        "long_name": f"{detector} detector intensity".strip(),
        "units": "1",
        "modality": modality,
        "origin": "measured",
        **page.settings,
        "cropped_databar_rows": page.databar_rows,
        "original_metadata": original_metadata(page.metadata),
    }
    return dataset(
        {"intensity": xr.Variable(("z", "y", "x"), page.image[np.newaxis], attrs)}, coords
    )
