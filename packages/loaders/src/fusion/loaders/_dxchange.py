"""XCT projections from Data Exchange HDF5 (``exchange/data``, ``data_white``, ``data_dark``,
``theta``), read with h5py: lazily block by block, or at once where a channel fits one block."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import dask.array as da
import h5py
import numpy as np

from ._base import LoaderError
from ._provenance import Digest, file_entity, software
from ._xctbase import (
    UM,
    Read,
    calibration,
    fits_one_block,
    lazy_frames,
    projection_group,
    reader_errors,
)

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
DEGREES_PER = dict.fromkeys(("degree", "degrees", "deg"), 1.0) | dict.fromkeys(
    ("radian", "radians", "rad"), 180 / math.pi
)
DX_PIXEL = "measurement/instrument/detection_system/objective/resolution"


def read_dxchange(path: Path, voxel: tuple[float, float, float] | None) -> Read:
    with Digest(path) as digest:  # hashed while h5py reads
        with reader_errors(path, "HDF5 file"), h5py.File(path, "r") as h5:
            data = _h5_stack(path, h5, "exchange/data", None)
            frames = {"projections": data}
            for name, key in (("flats", "exchange/data_white"), ("darks", "exchange/data_dark")):
                if key in h5:
                    frames[name] = _h5_stack(path, h5, key, data.shape[1:])
            angles = _dx_angles(path, h5.get("exchange/theta"), data.shape[0])
            pixel, metadata = _dx_pixel(h5), _h5_metadata(h5)
            arrays = {name: _h5_array(path, node) for name, node in frames.items()}
        yx = calibration(path, pixel, voxel, 2)
        sha256 = digest.hexdigest()
    return Read(
        title=f"XCT projections {path.name}",
        group="projections",
        dataset=projection_group(angles, yx, arrays, {}, metadata),
        entity=file_entity(path, format="Data Exchange HDF5", sha256=sha256),
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


def _h5_array(path: Path, node: h5py.Dataset) -> np.ndarray | da.Array:
    """The dataset's values now if it fits one block, else a dask array of blocks of frames."""
    if fits_one_block(node.shape, node.dtype):
        return node[()]
    read = functools.partial(_h5_frames, str(path), node.name)
    return lazy_frames(read, range(node.shape[0]), node.shape[1:], node.dtype)


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
