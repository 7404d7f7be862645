"""XCT: reconstructed volumes and raw projections, read lazily with the field's readers.

Formats and readers:

* a folder of TIFF slices (one 2-D image per file; z follows the natural order of the file
  names, ``im9`` before ``im10``), read with ``tifffile.imread`` block by block, or one
  multipage TIFF through tifffile's Zarr store (``imread(aszarr=True)``) wrapped in dask
  (`._tiffstack`);
* Data Exchange HDF5 (``exchange/data``, ``data_white``, ``data_dark``, ``theta``): h5py
  (`._dxchange`);
* Zeiss/Xradia ``.xrm`` / ``.txrm`` (OLE2 compound files): olefile (`._xradia`).

Volumes are never read into memory when the tree is made: they are dask arrays whose tasks
read one block of whole slices (about `BLOCK_BYTES`, at least one slice), so writing a dataset
needs memory for a few blocks, not for the stack. Projection channels larger than one block
are lazy in the same way; a smaller one is read when the file is opened (its one task would
read all of it anyway). Headers are checked first (same shape and dtype everywhere, data inside
the file), so a truncated or inconsistent input is a `LoaderError` at load time, not a failure
mid-write. The file's sha256 is computed in a background thread while the headers are read.

A volume is the scale group ``volume`` (channel ``grayscale``; a segmented volume, whose values
are labels, is channel ``phase`` with ``flag_values`` and ``flag_meanings`` when ``labels``
names them, e.g. ``{0: "rest", 128: "NMC"}``: `as_labels`). Projections are the
projection group ``projections`` (format 0.2): channel ``projections`` on (angle, y, x),
reference frames ``flats`` on (flat, y, x) and ``darks`` on (dark, y, x).

The voxel size comes from the file where it has one (ImageJ TIFF calibration, xrm
``ImageInfo/PixelSize``, Data Exchange ``measurement/instrument/detection_system/objective/
resolution``). The caller's ``voxel_size_um`` overrides it, with a `LoaderWarning` where the
two differ; where the file has none, ``voxel_size_um`` is required.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import xarray as xr

from ._base import LoaderError
from ._dxchange import HDF5_SUFFIXES, read_dxchange
from ._provenance import make_tree, record_load, voxel_option
from ._tiffstack import TIFF_SUFFIXES, read_tiff, slice_files
from ._xctbase import BLOCK_BYTES
from ._xradia import XRADIA_SUFFIXES, read_xradia

__all__ = ["BLOCK_BYTES", "XctLoader", "as_labels", "parse_labels", "slice_files"]


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
        labels: Mapping[int, str] | Sequence[str] | None = None,
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
        labels
            The volume is segmented: its values are these labels (``{value: name}``, or
            ``"VALUE=NAME"`` strings as the command line gives them); it becomes the label
            channel ``phase``.

        Raises
        ------
        LoaderError
            Unreadable, truncated or inconsistent input, or no voxel size known.
        """
        voxel = voxel_option(path, voxel_size_um)
        suffix = path.suffix.lower()
        if path.is_dir() or suffix in TIFF_SUFFIXES:
            read = read_tiff
        elif suffix in HDF5_SUFFIXES:
            read = read_dxchange
        else:
            read = read_xradia
        flags = parse_labels(labels) if labels is not None else None
        with record_load(voxel_size_um=voxel) as record:
            result = read(path, voxel)
        dataset = result.dataset if flags is None else as_labels(path, result.dataset, flags)
        return make_tree(
            title=result.title,
            group=result.group,
            dataset=dataset,
            entity=result.entity,
            reader=result.reader,
            record=record,
            material=material,
            in_memory=result.in_memory,
        )


def parse_labels(labels: Mapping[int, str] | Sequence[str]) -> dict[int, str]:
    """``{value: name}`` from a mapping or ``"VALUE=NAME"`` strings, values in order.

    >>> parse_labels(["128=NMC", "0=rest"])
    {0: 'rest', 128: 'NMC'}
    """
    if isinstance(labels, Mapping):
        pairs = [(int(v), str(n)) for v, n in labels.items()]
    else:
        pairs = []
        for item in labels:
            value, sep, name = str(item).partition("=")
            if not sep or not value.strip().lstrip("-").isdigit() or not name.strip():
                raise LoaderError(
                    f"--labels takes VALUE=NAME pairs (e.g. 0=rest 128=NMC), got {item!r}"
                )
            pairs.append((int(value), name.strip()))
    names = [n for _, n in pairs]
    if len(set(names)) != len(names) or len({v for v, _ in pairs}) != len(pairs):
        raise LoaderError(f"--labels repeats a value or a name: {labels}")
    bad = [n for n in names if not n.replace("-", "").replace("_", "").isalnum()]
    if bad:
        raise LoaderError(f"label names must be single words (flag_meanings), got {bad}")
    return dict(sorted(pairs))


def as_labels(path: Path, dataset: xr.Dataset, labels: Mapping[int, str]) -> xr.Dataset:
    """The volume's ``grayscale`` as the label channel ``phase`` with these flags."""
    if "grayscale" not in dataset:
        raise LoaderError(f"{path}: --labels applies to a reconstructed volume, not to projections")
    grey = dataset["grayscale"]
    if grey.dtype.kind not in "iu":
        raise LoaderError(f"{path}: --labels needs integer voxels, the volume is {grey.dtype}")
    attrs = {
        **{k: v for k, v in grey.attrs.items() if k not in ("units", "long_name")},
        "long_name": "phase label",
        "units": "1",
        "flag_values": list(labels),
        "flag_meanings": " ".join(labels.values()),
    }
    return dataset.drop_vars("grayscale").assign(phase=xr.Variable(grey.dims, grey.data, attrs))
