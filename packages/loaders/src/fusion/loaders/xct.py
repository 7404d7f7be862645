"""XCT: reconstructed volumes and raw projections, read lazily with the field's readers.

Formats and readers:

* a folder of TIFF slices (one 2-D image per file; z follows the natural order of the file
  names, ``im9`` before ``im10``), read with ``tifffile.imread`` block by block, or one
  multipage TIFF through tifffile's Zarr store (``imread(aszarr=True)``) wrapped in dask;
* Data Exchange HDF5 (``exchange/data``, ``data_white``, ``data_dark``, ``theta``): h5py;
* Zeiss/Xradia ``.xrm`` / ``.txrm`` (OLE2 compound files): olefile.

Nothing is read into memory when the tree is made: every array is a dask array whose tasks
read one block of whole slices or frames (about `BLOCK_BYTES`, at least one frame), so writing
a dataset needs memory for a few blocks, not for the stack. Headers are checked first (same shape and dtype everywhere, data inside the file), so
a truncated or inconsistent input is a `LoaderError` at load time, not a failure mid-write.

A volume is the scale group ``volume`` (channel ``grayscale``). Projections are the
projection group ``projections`` (format 0.2): channel ``projections`` on (angle, y, x),
reference frames ``flats`` on (flat, y, x) and ``darks`` on (dark, y, x).

The voxel size comes from the file where it has one (ImageJ TIFF calibration, xrm
``ImageInfo/PixelSize``, Data Exchange ``measurement/instrument/detection_system/objective/
resolution``). The caller's ``voxel_size_um`` overrides it, with a `LoaderWarning` where the
two differ; where the file has none, ``voxel_size_um`` is required.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import h5py
import numpy as np
import olefile
import tifffile
import xarray as xr
import zarr

from ._base import LoaderError, LoaderWarning
from ._provenance import (
    file_entity,
    make_tree,
    original_metadata,
    record_load,
    sha256_of,
    software,
    spatial_coords,
)

__all__ = ["XctLoader", "slice_files"]

TIFF_SUFFIXES = (".tif", ".tiff")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
XRADIA_SUFFIXES = (".xrm", ".txrm")
UM = {"micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "μm": 1.0, "nm": 1e-3, "mm": 1e3}
DEGREES_PER = dict.fromkeys(("degree", "degrees", "deg"), 1.0) | dict.fromkeys(
    ("radian", "radians", "rad"), 180 / math.pi
)
SKIPPED_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts"}
DX_PIXEL = "measurement/instrument/detection_system/objective/resolution"
BLOCK_BYTES = 4 * 2**20
"""Frames are read, and written, in blocks of about this size (one dask task each)."""
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


@dataclass
class _Read:
    """What one format reader hands to `XctLoader.open`."""

    title: str
    group: str
    dataset: xr.Dataset
    entity: dict[str, Any]
    reader: dict[str, str]


class XctLoader:
    """XCT volumes (TIFF slices, multipage TIFF) and projections (Data Exchange, Xradia)."""

    kind = "xct"
    description = (
        "XCT: folder of TIFF slices or multipage TIFF (tifffile, lazy), "
        "Data Exchange HDF5 (h5py), Xradia .xrm/.txrm (olefile)"
    )

    def can_open(self, path: Path) -> bool:
        """A folder holding TIFF files, or a file with a TIFF, HDF5 or Xradia suffix."""
        if path.is_dir():
            return bool(slice_files(path))
        return path.suffix.lower() in (*TIFF_SUFFIXES, *HDF5_SUFFIXES, *XRADIA_SUFFIXES)

    def open(
        self,
        path: Path,
        *,
        material: str = "unspecified",
        voxel_size_um: float | Sequence[float] | None = None,
    ) -> xr.DataTree:
        """Read an XCT file or slice folder into a fused dataset (lazily).

        Parameters
        ----------
        path
            Folder of TIFF slices, multipage TIFF, Data Exchange HDF5, or ``.xrm`` / ``.txrm``.
        material
            Sample material to record.
        voxel_size_um
            Voxel size in µm, one value or (z, y, x); for projections, the pixel size (y, x
            of the three). Required where the file stores none.

        Raises
        ------
        LoaderError
            Unreadable, truncated or inconsistent input, or no voxel size known.
        """
        voxel = _voxel_option(path, voxel_size_um)
        suffix = path.suffix.lower()
        if path.is_dir() or suffix in TIFF_SUFFIXES:
            read = _read_tiff
        elif suffix in HDF5_SUFFIXES:
            read = _read_dxchange
        else:
            read = _read_xradia
        with record_load(voxel_size_um=voxel) as record:
            result = read(path, voxel)
        return make_tree(
            title=result.title,
            group=result.group,
            dataset=result.dataset,
            entity=result.entity,
            reader=result.reader,
            record=record,
            material=material,
        )


@contextmanager
def _reader_errors(path: Path, what: str) -> Iterator[None]:
    """Turn a reader's exception into a `LoaderError` naming the file."""
    try:
        yield
    except LoaderError:
        raise
    except Exception as err:
        raise LoaderError(f"{path}: not a readable {what} ({type(err).__name__}: {err})") from err


# -- voxel size ----------------------------------------------------------------------------------


def _voxel_option(path: Path, value: Any) -> tuple[float, float, float] | None:
    """The caller's voxel size as (z, y, x) in µm: one value means isotropic."""
    if value is None:
        return None
    values = tuple(value) if isinstance(value, Sequence) else (value,)
    values = values * 3 if len(values) == 1 else values
    numbers = all(isinstance(v, Real) and not isinstance(v, bool) for v in values)
    if len(values) != 3 or not numbers or not all(math.isfinite(v) and v > 0 for v in values):
        raise LoaderError(f"{path}: voxel_size_um must be 1 or 3 positive numbers, got {value!r}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def _calibration(
    path: Path, from_file: tuple[float, ...] | None, option: tuple[float, ...] | None, axes: int
) -> tuple[float, ...]:
    """The voxel size along the last ``axes`` axes: the caller's if given, else the file's."""
    if option is None:
        if from_file is None:
            raise LoaderError(
                f"{path}: the file stores no voxel size; give it in micrometres "
                "(voxel_size_um=..., on the command line --voxel-size UM)"
            )
        return from_file
    chosen = option[-axes:]
    if from_file is not None and not np.allclose(chosen, from_file, rtol=1e-3):
        warnings.warn(
            f"{path}: the file gives a voxel size of {list(from_file)} um; "
            f"used the caller's {list(chosen)} um",
            LoaderWarning,
            stacklevel=4,
        )
    return chosen


# -- TIFF slices and multipage TIFF --------------------------------------------------------------


def slice_files(folder: Path) -> list[Path]:
    """The TIFF files of a folder in natural order of their names (``im9`` before ``im10``)."""
    names = [
        p.name
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TIFF_SUFFIXES and not p.name.startswith(".")
    ]
    return [folder / name for name in tifffile.natural_sorted(names)]


def _read_tiff(path: Path, voxel: tuple[float, float, float] | None) -> _Read:
    folder = path.is_dir()
    files = slice_files(path) if folder else [path]
    if not files:
        raise LoaderError(f"{path}: no .tif or .tiff files in the folder")
    with _reader_errors(path, "TIFF stack"):
        frame, dtype, calibration, metadata = _tiff_header(files, folder)
        if folder:
            read = functools.partial(_read_slices, frame, dtype)
            stack = _lazy_frames(read, files, frame, dtype)
        else:
            stack = _multipage(path)
    zyx = _calibration(path, calibration, voxel, 3)
    return _Read(
        title=f"XCT volume {path.name}",
        group="volume",
        dataset=_volume(stack, zyx, metadata),
        entity=_folder_entity(path, files) if folder else file_entity(path, "TIFF (multipage)"),
        reader=software("tifffile"),
    )


def _read_slices(frame: tuple[int, int], dtype: np.dtype, block: Sequence[Path]) -> np.ndarray:
    """One block of slice files, read straight into one array."""
    out = np.empty((len(block), *frame), dtype)
    for plane, file in zip(out, block, strict=True):
        tifffile.imread(file, out=plane)
    return out


def _multipage(path: Path) -> da.Array:
    """A multipage TIFF through tifffile's Zarr store, which keeps the file and its IFDs open."""
    array = zarr.open_array(tifffile.imread(path, aszarr=True, series=0), mode="r")
    frame = array.shape[-2:]
    chunks = (_frames_per_block(frame, array.dtype),) * (array.ndim - 2) + frame
    return da.from_zarr(array, chunks=chunks).reshape((-1, *frame))


def _tiff_header(files: list[Path], folder: bool) -> tuple[tuple, np.dtype, Any, dict]:
    """Check every page of every file; frame shape, dtype, calibration and metadata of the first."""
    first: tuple[tuple[int, ...], np.dtype] | None = None
    for file in files:
        with tifffile.TiffFile(file) as tif:
            tif.pages.useframes = True
            pages = list(tif.pages)
            if folder and len(pages) != 1:
                raise LoaderError(f"{file}: {len(pages)} pages; expected one slice per file")
            if first is None:
                first = (pages[0].shape, pages[0].dtype)
                calibration, metadata = _tiff_calibration(tif), _tiff_metadata(tif, files)
            for page in pages:
                _check_page(file, page, tif.filehandle.size, *first)
            _check_series(file, tif.series[0].shape, len(pages), first[0])
    return (*first, calibration, metadata)


def _check_page(file: Path, page: Any, size: int, shape: tuple, dtype: np.dtype) -> None:
    if len(page.shape) != 2:
        raise LoaderError(f"{file}: page shape {page.shape}; expected 2-D grey images")
    if page.shape != shape or page.dtype != dtype:
        raise LoaderError(
            f"{file}: page of {page.shape} {page.dtype}, expected {shape} {dtype} as the first"
        )
    ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=True)]
    if not ends or max(ends) > size:
        raise LoaderError(
            f"{file}: truncated: image data ends at byte {max(ends, default=0)}, file has {size}"
        )


def _check_series(file: Path, shape: tuple[int, ...], pages: int, page: tuple) -> None:
    """The first series is (z, y, x) or (y, x) and every one of its pages could be read."""
    if len(shape) > 3 or shape[-2:] != page or math.prod(shape[:-2]) != pages:
        raise LoaderError(
            f"{file}: series of shape {shape} but {pages} readable pages of {page}; "
            "truncated, or not a (z, y, x) stack"
        )


def _tiff_calibration(tif: tifffile.TiffFile) -> tuple[float, float, float] | None:
    """(z, y, x) in µm from ImageJ metadata (unit, spacing) and the resolution tags, if any.

    Plain resolution tags (ResolutionUnit NONE, or 72 dpi defaults) are not a voxel size.
    """
    imagej = tif.imagej_metadata or {}
    factor = UM.get(str(imagej.get("unit", "")))
    spacing = imagej.get("spacing")
    tags = tif.pages[0].tags
    if factor is None or spacing is None or "XResolution" not in tags:
        return None
    (xn, xd), (yn, yd) = tags["XResolution"].value, tags["YResolution"].value
    return (float(spacing) * factor, yd / yn * factor, xd / xn * factor)


def _tiff_metadata(tif: tifffile.TiffFile, files: list[Path]) -> dict[str, Any]:
    tags = {t.name: t.value for t in tif.pages[0].tags.values() if t.name not in SKIPPED_TAGS}
    return {
        "files": [f.name for f in files],
        "first_file_tags": tags,
        "imagej_metadata": tif.imagej_metadata,
        "shaped_metadata": tif.shaped_metadata,
    }


def _folder_entity(folder: Path, files: list[Path]) -> dict[str, Any]:
    """A folder as one file entity: sha256 of its ``sha256sum``-style manifest, total size.

    The digest is that of the lines ``<sha256>  <name>\\n`` of the files in load order, so
    ``sha256sum im071.tif ... im080.tif | sha256sum`` in the folder reproduces it.
    """
    manifest = "".join(f"{sha256_of(f)}  {f.name}\n" for f in files).encode()
    return {
        "type": "file",
        "name": folder.name,
        "location": str(folder.resolve()),
        "sha256": hashlib.sha256(manifest).hexdigest(),
        "size": sum(f.stat().st_size for f in files),
        "format": f"TIFF slices ({len(files)} files; sha256 of the sha256sum manifest)",
    }


def _volume(stack: da.Array, zyx: tuple[float, ...], metadata: dict) -> xr.Dataset:
    attrs = {
        "long_name": "reconstructed X-ray attenuation (grey value)",
        "units": "1",
        "modality": "XCT",
        "origin": "measured",
        "original_metadata": original_metadata(metadata),
    }
    return xr.Dataset(
        {"grayscale": (("z", "y", "x"), stack, attrs)}, coords=spatial_coords(stack.shape, zyx)
    )


# -- projections (format 0.2 projection groups) --------------------------------------------------

PROJECTION_CHANNELS = {
    "projections": ("angle", "X-ray projection intensity"),
    "flats": ("flat", "flat-field (open beam) reference intensity"),
    "darks": ("dark", "dark-field (beam off) reference intensity"),
}
"""Channel name: (first dimension, long_name)."""


def _lazy_frames(
    read: Callable[[Sequence[Any]], np.ndarray],
    keys: Sequence[Any],
    shape: tuple[int, ...],
    dtype: Any,
) -> da.Array:
    """A (frame, y, x) dask array; each task calls ``read(keys[i:j])`` for one block of frames."""
    step = _frames_per_block(shape, dtype)
    read_later = dask.delayed(read, pure=True)
    blocks = [keys[i : i + step] for i in range(0, len(keys), step)]
    return da.concatenate(
        [da.from_delayed(read_later(b), shape=(len(b), *shape), dtype=dtype) for b in blocks]
    )


def _frames_per_block(shape: tuple[int, ...], dtype: Any) -> int:
    """Frames of ``shape`` in one block of about `BLOCK_BYTES` (at least one)."""
    return max(1, BLOCK_BYTES // (math.prod(shape) * np.dtype(dtype).itemsize))


def _projection_group(
    angles_deg: np.ndarray,
    pixel_yx: tuple[float, ...],
    frames: dict[str, da.Array],
    attrs: dict[str, dict[str, Any]],
    metadata: dict[str, Any],
) -> xr.Dataset:
    """Projections on (angle, y, x) plus ``flats`` / ``darks`` reference frames."""
    ny, nx = frames["projections"].shape[1:]
    yx = spatial_coords((1, ny, nx), (pixel_yx[0], *pixel_yx))
    angle = xr.Variable(
        "angle", angles_deg.astype(np.float64), {"units": "degree", "long_name": "rotation angle"}
    )
    common = {"units": "counts", "modality": "XCT", "origin": "measured"}
    meta = original_metadata(metadata)
    variables = {}
    for name, array in frames.items():
        dim, long_name = PROJECTION_CHANNELS[name]
        extra = attrs.get(name, {})
        channel = {"long_name": long_name, **common, **extra, "original_metadata": meta}
        variables[name] = ((dim, "y", "x"), array, channel)
    return xr.Dataset(variables, coords={"angle": angle, "y": yx["y"], "x": yx["x"]})


# -- Data Exchange HDF5 --------------------------------------------------------------------------


def _read_dxchange(path: Path, voxel: tuple[float, float, float] | None) -> _Read:
    with _reader_errors(path, "HDF5 file"), h5py.File(path, "r") as h5:
        data = _h5_stack(path, h5, "exchange/data", None)
        frames = {"projections": data}
        for name, key in (("flats", "exchange/data_white"), ("darks", "exchange/data_dark")):
            if key in h5:
                frames[name] = _h5_stack(path, h5, key, data.shape[1:])
        angles = _dx_angles(path, h5.get("exchange/theta"), data.shape[0])
        pixel, metadata = _dx_pixel(h5), _h5_metadata(h5)
        lazy = {name: _h5_lazy(path, node) for name, node in frames.items()}
    yx = _calibration(path, pixel, voxel, 2)
    return _Read(
        title=f"XCT projections {path.name}",
        group="projections",
        dataset=_projection_group(angles, yx, lazy, {}, metadata),
        entity=file_entity(path, "Data Exchange HDF5"),
        reader=software("h5py"),
    )


def _h5_stack(path: Path, h5: h5py.File, key: str, frame: tuple | None) -> h5py.Dataset:
    """The 3-D numeric dataset ``key``, its frames of shape ``frame`` where given."""
    node = h5.get(key)
    if not isinstance(node, h5py.Dataset) or node.ndim != 3 or node.dtype.kind not in "iuf":
        found = getattr(node, "shape", None)
        raise LoaderError(f"{path}: {key}: expected a 3-D numeric dataset, found {found}")
    if frame is not None and node.shape[1:] != frame:
        raise LoaderError(f"{path}: {key}: frames of {node.shape[1:]}, projections of {frame}")
    return node


def _h5_lazy(path: Path, node: h5py.Dataset) -> da.Array:
    read = functools.partial(_h5_frames, str(path), node.name)
    return _lazy_frames(read, range(node.shape[0]), node.shape[1:], node.dtype)


def _h5_frames(path: str, name: str, block: range) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        return h5[name][block.start : block.stop]


def _dx_angles(path: Path, theta: Any, count: int) -> np.ndarray:
    """``exchange/theta`` in degrees (converted from radians where its units say so)."""
    if not isinstance(theta, h5py.Dataset) or theta.shape != (count,):
        raise LoaderError(f"{path}: exchange/theta: expected {count} angles, one per projection")
    units = _text(theta.attrs.get("units", ""))
    if units not in DEGREES_PER:
        raise LoaderError(f"{path}: exchange/theta: units {units!r}, expected degrees or radians")
    angles = theta[()].astype(np.float64) * DEGREES_PER[units]
    if not np.isfinite(angles).all():
        raise LoaderError(f"{path}: exchange/theta holds NaN or infinite angles")
    return angles


def _dx_pixel(h5: h5py.File) -> tuple[float, float] | None:
    """Pixel size (y, x) in µm from the detection system's objective, given with its unit."""
    node = h5.get(DX_PIXEL)
    if not isinstance(node, h5py.Dataset) or node.size != 1:
        return None
    factor = UM.get(_text(node.attrs.get("units", "")))
    value = float(np.asarray(node[()]).reshape(()))
    if factor is None or not math.isfinite(value) or value <= 0:
        return None
    return (value * factor, value * factor)


def _h5_metadata(h5: h5py.File) -> dict[str, Any]:
    """Attributes of every node, with shape and dtype of datasets and values of small ones."""
    out: dict[str, Any] = {"/": {"attrs": dict(h5.attrs)}}

    def visit(name: str, node: Any) -> None:
        entry: dict[str, Any] = {"attrs": dict(node.attrs)}
        if isinstance(node, h5py.Dataset):
            entry |= {"shape": node.shape, "dtype": str(node.dtype)}
            if node.size <= 64:
                entry["value"] = node[()]
        out[name] = entry

    h5.visititems(visit)
    return out


def _text(value: Any) -> str:
    """An HDF5 string attribute (bytes or str) as str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- Zeiss/Xradia xrm, txrm ----------------------------------------------------------------------


def _read_xradia(path: Path, voxel: tuple[float, float, float] | None) -> _Read:
    with _reader_errors(path, "Xradia file"):
        if not olefile.isOleFile(str(path)):
            raise LoaderError(f"{path}: not an OLE2 compound file (Xradia .xrm/.txrm expected)")
        with olefile.OleFileIO(str(path), raise_defects=olefile.DEFECT_INCORRECT) as ole:
            info = _xradia_metadata(ole)
            frames, angles = _xradia_frames(path, ole, info)
    pixel = _first(info.get("ImageInfo/PixelSize"))
    from_file = (pixel, pixel) if pixel and math.isfinite(pixel) and pixel > 0 else None
    yx = _calibration(path, from_file, voxel, 2)
    return _Read(
        title=f"XCT projections {path.name}",
        group="projections",
        dataset=_projection_group(angles, yx, frames, _xradia_attrs(info, len(angles)), info),
        entity=file_entity(path, f"Xradia {path.suffix.lower().lstrip('.')} (OLE2)"),
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
) -> tuple[dict[str, da.Array], np.ndarray]:
    """Lazy projections (``ImageData<k>/Image<i>``, 100 per storage) and reference image."""
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
    frames = {
        name: _lazy_frames(
            functools.partial(_ole_frames, str(path), shape, dtypes[name]),
            names,
            shape,
            dtypes[name],
        )
        for name, names in streams.items()
    }
    return frames, angles


def _ole_frames(path: str, shape: tuple[int, int], dtype: np.dtype, block: list[str]) -> np.ndarray:
    with olefile.OleFileIO(path, raise_defects=olefile.DEFECT_INCORRECT) as ole:
        frames = [np.frombuffer(ole.openstream(s).read(), dtype).reshape(shape) for s in block]
    return np.stack(frames)


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
