"""XCT projections from Zeiss/Xradia ``.xrm`` / ``.txrm`` (OLE2 compound files), via olefile."""

from __future__ import annotations

import datetime as dt
import functools
import math
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import olefile

from ._base import LoaderError
from ._provenance import Digest, file_entity, software
from ._xctbase import (
    Read,
    calibration,
    fits_one_block,
    lazy_frames,
    projection_group,
    reader_errors,
)

XRADIA_SUFFIXES = (".xrm", ".txrm")
XRADIA_DTYPES = {5: np.dtype("<u2"), 10: np.dtype("<f4")}
XRADIA_FIELDS = {
    ("ImageInfo", "<i4"): "ImageWidth ImageHeight DataType NoOfImages ImagesTaken HorizontalBin "
    "VerticalalBin NoOfImagesAveraged CameraNo AcquisitionMode XrayGeometry",
    ("ImageInfo", "<f4"): "PixelSize Angles ExpTimes Energy XPosition YPosition ZPosition "
    "OpticalMagnification XrayMagnification Voltage Current StoRADistance DtoRADistance",
    ("ImageInfo", "text"): "Date CameraName ObjectiveName ReferenceFile ZonePlateName",
    ("ReferenceData", "<i4"): "DataType Binning",
    ("ReferenceData", "<f4"): "ExpTime IonCurrent",
    ("SampleInfo", "text"): "SampleID Facility Analyst",
}
"""The Xradia streams decoded into ``original_metadata``, with their types."""


def read_xradia(path: Path, voxel: tuple[float, float, float] | None) -> Read:
    with reader_errors(path, "Xradia file"):
        if not olefile.isOleFile(str(path)):
            raise LoaderError(f"{path}: not an OLE2 compound file (Xradia .xrm/.txrm expected)")
    with Digest(path) as digest:  # hashed while olefile reads
        with (
            reader_errors(path, "Xradia file"),
            olefile.OleFileIO(str(path), raise_defects=olefile.DEFECT_INCORRECT) as ole,
        ):
            info = _xradia_metadata(ole)
            frames, angles = _xradia_frames(path, ole, info)
        pixel = _first(info.get("ImageInfo/PixelSize"))
        from_file = (pixel, pixel) if pixel and math.isfinite(pixel) and pixel > 0 else None
        yx = calibration(path, from_file, voxel, 2)
        sha256 = digest.hexdigest()
    return Read(
        title=f"XCT projections {path.name}",
        group="projections",
        dataset=projection_group(angles, yx, frames, _xradia_attrs(info, len(angles)), info),
        entity=file_entity(
            path, format=f"Xradia {path.suffix.lower().lstrip('.')} (OLE2)", sha256=sha256
        ),
        reader=software("olefile"),
    )


def _xradia_metadata(ole: olefile.OleFileIO) -> dict[str, Any]:
    """The streams of `XRADIA_FIELDS`: NUL-terminated text or little-endian numbers."""
    info: dict[str, Any] = {}
    for (storage, kind), names in XRADIA_FIELDS.items():
        for name in names.split():
            key = f"{storage}/{name}"
            if not ole.exists(key):
                continue
            data = ole.openstream(key).read()
            if kind == "text":
                info[key] = data.split(b"\0", 1)[0].decode("latin-1").strip()
            else:  # float32 as its shortest decimal: -0.06, not -0.0599999986
                values = np.frombuffer(data[: len(data) // 4 * 4], kind)
                numbers = [float(str(v)) if kind == "<f4" else int(v) for v in values]
                info[key] = numbers[0] if len(numbers) == 1 else numbers
    return info


def _xradia_frames(
    path: Path, ole: olefile.OleFileIO, info: dict[str, Any]
) -> tuple[dict[str, np.ndarray | da.Array], np.ndarray]:
    """Projections (``ImageData<k>/Image<i>``, 100 per storage) and reference image.

    A channel that fits one block is read now from the open file; larger ones lazily.
    """
    try:
        count = int(_first(info["ImageInfo/NoOfImages"]))
        shape = (
            int(_first(info["ImageInfo/ImageHeight"])),
            int(_first(info["ImageInfo/ImageWidth"])),
        )
        dtype = XRADIA_DTYPES[int(_first(info["ImageInfo/DataType"]))]
    except KeyError as err:
        raise LoaderError(f"{path}: ImageInfo lacks {err} or has an unknown DataType") from err
    angles = np.atleast_1d(np.asarray(info.get("ImageInfo/Angles", []), dtype=np.float64))[:count]
    if angles.size < count or not np.isfinite(angles).all():
        raise LoaderError(f"{path}: ImageInfo/Angles: expected {count} finite angles (degrees)")
    streams = {"projections": [f"ImageData{i // 100 + 1}/Image{i + 1}" for i in range(count)]}
    dtypes = {"projections": dtype}
    if ole.exists("ReferenceData/Image"):
        streams["flats"] = ["ReferenceData/Image"]
        dtypes["flats"] = XRADIA_DTYPES.get(info.get("ReferenceData/DataType"), dtype)
    for name, names in streams.items():
        expected = shape[0] * shape[1] * dtypes[name].itemsize
        for stream in names:
            if not ole.exists(stream) or ole.get_size(stream) != expected:
                raise LoaderError(f"{path}: {stream}: missing or not {expected} bytes")
    frames: dict[str, np.ndarray | da.Array] = {}
    for name, names in streams.items():
        if fits_one_block((len(names), *shape), dtypes[name]):
            frames[name] = _read_streams(ole, shape, dtypes[name], names)
        else:
            read = functools.partial(_ole_frames, str(path), shape, dtypes[name])
            frames[name] = lazy_frames(read, names, shape, dtypes[name])
    return frames, angles


def _read_streams(
    ole: olefile.OleFileIO, shape: tuple[int, int], dtype: np.dtype, streams: list[str]
) -> np.ndarray:
    frames = [np.frombuffer(ole.openstream(s).read(), dtype).reshape(shape) for s in streams]
    return np.stack(frames)


def _ole_frames(path: str, shape: tuple[int, int], dtype: np.dtype, block: list[str]) -> np.ndarray:
    with olefile.OleFileIO(path, raise_defects=olefile.DEFECT_INCORRECT) as ole:
        return _read_streams(ole, shape, dtype, block)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _xradia_attrs(info: dict[str, Any], count: int) -> dict[str, dict[str, Any]]:
    """Channel attributes: per-angle lists (one value per projection) and scalars."""

    def per_angle(key: str) -> list[float] | None:
        values = info.get(key)
        return None if values is None else [float(v) for v in np.atleast_1d(values)[:count]]

    projections = {
        "energy_eV": per_angle("ImageInfo/Energy"),
        "exposure_time_s": per_angle("ImageInfo/ExpTimes"),
        "stage_x_um": per_angle("ImageInfo/XPosition"),
        "stage_y_um": per_angle("ImageInfo/YPosition"),
        "stage_z_um": per_angle("ImageInfo/ZPosition"),
        "horizontal_binning": info.get("ImageInfo/HorizontalBin"),
        "vertical_binning": info.get("ImageInfo/VerticalalBin"),
        "xray_magnification": info.get("ImageInfo/XrayMagnification"),
        "optical_magnification": info.get("ImageInfo/OpticalMagnification"),
        "acquired": _xradia_date(info.get("ImageInfo/Date", "")),
    }
    flats = {
        "exposure_time_s": info.get("ReferenceData/ExpTime"),
        "binning": info.get("ReferenceData/Binning"),
    }
    return {
        name: {k: v for k, v in attrs.items() if v is not None}
        for name, attrs in (("projections", projections), ("flats", flats))
    }


def _xradia_date(text: str) -> str | None:
    """``MM/DD/YY hh:mm:ss`` (instrument local time) as ISO 8601 without a zone."""
    try:
        return dt.datetime.strptime(text, "%m/%d/%y %H:%M:%S").isoformat()
    except ValueError:
        return None
