"""XCT volumes from TIFF: a folder of slices (one 2-D image per file) or one multipage file.

Slices are read with ``tifffile.imread`` block by block (`lazy_frames`), a multipage file
through tifffile's Zarr store (``imread(aszarr=True)``) wrapped in dask. Every page of every
file is checked first (same shape and dtype, image data inside the file), so a truncated or
inconsistent stack is a `LoaderError` at load time, not a failure mid-write.

An input smaller than `BACKGROUND_BYTES` (16 MiB) is read once: each file's bytes are hashed
and parsed from memory (`Digest.source`), and its pixels are decoded while its header is
checked, into one array that dask serves in the same blocks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import xarray as xr
import zarr

from ._base import LoaderError
from ._build import dataset
from ._provenance import (
    Digest,
    file_entity,
    files_entity,
    original_metadata,
    software,
    spatial_coords,
)
from ._xctbase import UM, Read, calibration, frames_per_block, lazy_frames, reader_errors

TIFF_SUFFIXES = (".tif", ".tiff")
SKIPPED_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts"}


def slice_files(folder: Path) -> list[Path]:
    """The TIFF files of a folder in natural order of their names (``im9`` before ``im10``)."""
    names = [
        p.name
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TIFF_SUFFIXES and not p.name.startswith(".")
    ]
    return [folder / name for name in tifffile.natural_sorted(names)]


def read_tiff(path: Path, voxel: tuple[float, float, float] | None) -> Read:
    folder = path.is_dir()
    files = slice_files(path) if folder else [path]
    if not files:
        raise LoaderError(f"{path}: no .tif or .tiff files in the folder")
    with Digest(*files) as digest:  # hashed while the headers are checked
        with reader_errors(path, "TIFF stack"):
            frame, dtype, from_file, metadata, pixels = _tiff_header(files, folder, digest)
            if pixels is not None:  # a small input, read while its headers were checked
                chunks = (frames_per_block(frame, dtype), *frame)
                stack = da.from_array(pixels, chunks=chunks, name=False)
            elif folder:
                read = functools.partial(_read_slices, frame, dtype)
                stack = lazy_frames(read, files, frame, dtype)
            else:
                stack = _multipage(path)
        zyx = calibration(path, from_file, voxel, 3)
        digests = digest.hexdigests()
    if folder:
        entity = _folder_entity(path, files, digests)
    else:
        entity = file_entity(path, format="TIFF (multipage)", sha256=digests[0])
    return Read(
        title=f"XCT volume {path.name}",
        group="volume",
        dataset=_volume(stack, zyx, metadata),
        entity=entity,
        reader=software("tifffile"),
        in_memory=pixels is not None,
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
    chunks = (frames_per_block(frame, array.dtype),) * (array.ndim - 2) + frame
    return da.from_zarr(array, chunks=chunks).reshape((-1, *frame))


def _tiff_header(
    files: list[Path], folder: bool, digest: Digest
) -> tuple[tuple, np.dtype, Any, dict, np.ndarray | None]:
    """Check every page of every file; frame shape, dtype, calibration and metadata of the first.

    Where `Digest.source` hands over the bytes of the files (a small input), their pages are
    decoded too, into the (z, y, x) array returned last; else that is None.
    """
    first: tuple[tuple[int, ...], np.dtype] | None = None
    pixels: np.ndarray | None = None
    for position, file in enumerate(files):
        source = digest.source(file)
        with tifffile.TiffFile(source) as tif:
            tif.pages.useframes = True
            pages = list(tif.pages)
            if folder and len(pages) != 1:
                raise LoaderError(f"{file}: {len(pages)} pages; expected one slice per file")
            if first is None:
                first = (pages[0].shape, pages[0].dtype)
                from_file, metadata = _tiff_calibration(tif), _tiff_metadata(tif, files)
                if not isinstance(source, Path) and len(first[0]) == 2:
                    count = len(files) if folder else len(pages)
                    pixels = np.empty((count, *first[0]), first[1])
            for page in pages:
                _check_page(file, page, tif.filehandle.size, *first)
            _check_series(file, tif.series[0].shape, len(pages), first[0])
            if pixels is not None:
                for index, page in enumerate(pages, position if folder else 0):
                    page.asarray(out=pixels[index])
    return (*first, from_file, metadata, pixels)


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


def _folder_entity(folder: Path, files: list[Path], digests: list[str]) -> dict[str, Any]:
    """A folder of slices as one file entity (`files_entity`)."""
    return files_entity(folder, files, digests, "TIFF slices")


def _volume(stack: da.Array, zyx: tuple[float, ...], metadata: dict) -> xr.Dataset:
    attrs = {
        "long_name": "reconstructed X-ray attenuation (grey value)",
        "units": "1",
        "modality": "XCT",
        "origin": "measured",
        "original_metadata": original_metadata(metadata),
    }
    grayscale = xr.Variable(("z", "y", "x"), stack, attrs)
    return dataset({"grayscale": grayscale}, spatial_coords(stack.shape, zyx))
