"""What the XCT format readers share: the result type, voxel sizes, lazy frames, projections."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

from fusion.schema import option_error

from ._base import LoaderError, LoaderWarning
from ._build import dataset
from ._provenance import original_metadata, spatial_coords

if TYPE_CHECKING:
    from pathlib import Path

UM = {"micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "μm": 1.0, "nm": 1e-3, "mm": 1e3}
BLOCK_BYTES = 4 * 2**20
"""Frames are read, and written, in blocks of about this size (one dask task each)."""
PROJECTION_CHANNELS = {
    "projections": ("angle", "X-ray projection intensity"),
    "flats": ("flat", "flat-field (open beam) reference intensity"),
    "darks": ("dark", "dark-field (beam off) reference intensity"),
}
"""Channel name: (first dimension, long_name)."""


@dataclass
class Read:
    """What one format reader hands to `XctLoader.open`."""

    title: str
    group: str
    dataset: xr.Dataset
    entity: dict[str, Any]
    reader: dict[str, str]
    in_memory: bool = False
    """The dask channels serve frames read already (a small stack), not frames read when
    written."""


@contextmanager
def reader_errors(path: Path, what: str) -> Iterator[None]:
    """Turn a reader's exception into a `LoaderError` naming the file."""
    try:
        yield
    except LoaderError:
        raise
    except Exception as err:
        raise LoaderError(f"{path}: not a readable {what} ({type(err).__name__}: {err})") from err


def calibration(
    path: Path, from_file: tuple[float, ...] | None, option: tuple[float, ...] | None, axes: int
) -> tuple[float, ...]:
    """The voxel size along the last ``axes`` axes: the caller's if given, else the file's."""
    if option is None:
        if from_file is None:
            raise option_error(
                LoaderError,
                f"{path}: the file stores no voxel size; give it in micrometres: {{voxel_size_um}}",
                voxel_size_um="...",
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


# -- lazy frames ---------------------------------------------------------------------------------


class FrameReader:
    """A (frame, y, x) array-like that reads only the frames it is sliced to.

    ``read(keys[i:j])`` returns frames ``i`` to ``j`` as one array; dask slices this object
    block by block (`lazy_frames`), so each task reads its frames straight into its block.
    """

    def __init__(
        self,
        read: Callable[[Sequence[Any]], np.ndarray],
        keys: Sequence[Any],
        frame: tuple[int, ...],
        dtype: Any,
    ) -> None:
        self.read, self.keys = read, keys
        self.dtype = np.dtype(dtype)
        self.shape = (len(keys), *frame)
        self.ndim = len(self.shape)

    def __getitem__(self, index: Any) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        first, rest = (index[0], index[1:]) if index else (slice(None), ())
        if isinstance(first, slice):
            return self.read(self.keys[first])[(slice(None), *rest)]
        at = range(len(self.keys))[first]  # one frame
        return self.read(self.keys[at : at + 1])[0][rest]


def lazy_frames(
    read: Callable[[Sequence[Any]], np.ndarray],
    keys: Sequence[Any],
    shape: tuple[int, ...],
    dtype: Any,
) -> da.Array:
    """A (frame, y, x) dask array; each task calls ``read(keys[i:j])`` for one block of frames."""
    source = FrameReader(read, keys, shape, dtype)
    chunks = (frames_per_block(shape, dtype), *shape)
    name = f"frames-{tokenize(read, list(keys), shape, str(source.dtype))}"
    meta = np.empty((0,) * source.ndim, source.dtype)
    return da.from_array(source, chunks=chunks, name=name, meta=meta, asarray=False)


def frames_per_block(shape: tuple[int, ...], dtype: Any) -> int:
    """Frames of ``shape`` in one block of about `BLOCK_BYTES` (at least one)."""
    return max(1, BLOCK_BYTES // (math.prod(shape) * np.dtype(dtype).itemsize))


def fits_one_block(shape: tuple[int, ...], dtype: Any) -> bool:
    """An array this small is read at once: one dask task would read all of it anyway."""
    return math.prod(shape) * np.dtype(dtype).itemsize <= BLOCK_BYTES


# -- projections (format 0.2 projection groups) --------------------------------------------------


def projection_group(
    angles_deg: np.ndarray,
    pixel_yx: tuple[float, ...],
    frames: dict[str, Any],
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
        variables[name] = xr.Variable((dim, "y", "x"), array, channel)
    return dataset(variables, {"angle": angle, "y": yx["y"], "x": yx["x"]})
