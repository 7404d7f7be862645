"""Thermo Fisher Velox EMD (HDF5): the signals of one file as RosettaSciIO reads them, sorted
into spectrum images (EDS or EELS), element maps, images and what is left out.

RosettaSciIO's ``rsciio.emd`` reader (``sum_frames=True``; the EDS ``SpectrumStream`` decoded
with ``sparse``) returns one dictionary per signal: data, axes (``name``, ``offset``,
``scale``, ``units``, ``navigate``) and metadata. Here:

* a **spectrum image** has two navigation axes and one signal axis; its kind is RosettaSciIO's
  ``Signal.signal_type`` (``EDS_TEM``/``EDS_SEM`` → EDS, ``EELS`` → EELS);
* an **element map** is a 2-D signal titled by an element symbol (Velox names them ``C``,
  ``Ca``, …) on the grid of an EDS spectrum image (same shape, pixel size and offsets);
* an **image** is any other 2-D signal (HAADF, BF, DF…), with its own offsets;
* 1-D signals (per-detector sum spectra) are sums of a spectrum image: left out, and said so.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fusion.schema.model.v0_1 import ELEMENTS

from ._base import LoaderError, LoaderWarning

__all__ = [
    "VeloxSignals",
    "as_array",
    "counted",
    "grid_of",
    "nothing_of",
    "read_velox",
    "signal_title",
]

EDS_TYPES = ("EDS_TEM", "EDS_SEM", "EDS")


@dataclass
class VeloxSignals:
    """The signals of one Velox file, by role."""

    eds: list[dict[str, Any]] = field(default_factory=list)
    eels: list[dict[str, Any]] = field(default_factory=list)
    element_maps: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """Titles of the signals no role takes (sum spectra, other spectra)."""


def signal_title(signal: Mapping[str, Any]) -> str:
    return str(signal["metadata"].get("General", {}).get("title", "?"))


def read_velox(path: Path, lazy_bytes: int) -> VeloxSignals:
    """Read a Velox EMD file with RosettaSciIO and sort its signals; a file larger than
    ``lazy_bytes`` is read lazily (dask)."""
    from rsciio.emd import file_reader

    lazy = path.stat().st_size > lazy_bytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            signals = file_reader(str(path), sum_frames=True, lazy=lazy)
        except Exception as err:
            raise LoaderError(f"{path}: RosettaSciIO cannot read it as Velox EMD: {err}") from err
    for warning in caught:
        warnings.warn(f"{path}: rosettasciio: {warning.message}", LoaderWarning, stacklevel=4)
    return _sorted(signals)


def _sorted(signals: list[dict[str, Any]]) -> VeloxSignals:
    found = VeloxSignals()
    for signal in signals:
        kind = signal["metadata"].get("Signal", {}).get("signal_type", "")
        navigation = [a for a in signal["axes"] if a.get("navigate")]
        ndim = len(signal["axes"])
        if ndim == 3 and len(navigation) == 2 and kind in EDS_TYPES:
            found.eds.append(signal)
        elif ndim == 3 and len(navigation) == 2 and kind == "EELS":
            found.eels.append(signal)
        elif ndim == 2 and not navigation:
            found.images.append(signal)
        else:
            found.left_out.append(f"{signal_title(signal)} ({kind or 'untyped'}, {ndim}-D)")
    is_map = [signal_title(s) in ELEMENTS and _on_an_si(s, found.eds) for s in found.images]
    found.element_maps = [s for s, m in zip(found.images, is_map, strict=True) if m]
    found.images = [s for s, m in zip(found.images, is_map, strict=True) if not m]
    return found


def grid_of(signal: Mapping[str, Any]) -> tuple:
    """(name, size, offset, scale, units) of the y and x axes."""
    axes = [a for a in signal["axes"] if a.get("name") in ("y", "x")]
    return tuple(
        (a["name"], a["size"], round(float(a["offset"]), 9), round(float(a["scale"]), 12),
         a.get("units"))
        for a in axes
    )  # fmt: skip


def _on_an_si(image: Mapping[str, Any], spectrum_images: list[dict[str, Any]]) -> bool:
    return any(grid_of(image) == grid_of(si) for si in spectrum_images)


def nothing_of(path: Path, found: VeloxSignals, kind: str) -> str:
    """The one line for a Velox file without spectrum images of ``kind``."""
    titles = [signal_title(s) for s in (*found.eds, *found.eels, *found.element_maps,
                                        *found.images)] + found.left_out  # fmt: skip
    return (f"{path}: no {kind} spectrum image in this Velox file (it holds: "
            f"{', '.join(titles) or 'nothing'})")  # fmt: skip


def counted(names: list[str]) -> str:
    """``"4 × EDS (EDS_TEM, 1-D), HAADF"``: each name once, with how often it came."""
    counts = Counter(names)
    return ", ".join(f"{n} × {name}" if n > 1 else name for name, n in counts.items())


def as_array(data: Any) -> Any:
    """Numpy or dask data as it is; a ``sparse`` array made dense (counts are small)."""
    if hasattr(data, "todense") and not hasattr(data, "dask"):
        return np.asarray(data.todense())
    return data
