"""Reading an EBSD map for `fusion.loaders.ebsd`: the header, orix's crystal map, the grid.

The grid comes from the x/y columns (step and origin), never from the header; a header that
disagrees is a `LoaderWarning`, points that are not on a square grid a `LoaderError`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._base import LoaderError, LoaderWarning

GRID_TOLERANCE = 0.01
"""Largest distance of a point from its grid node, in steps, before the map is refused."""
UNIT_UM = {"um": 1.0, "nm": 1e-3}


@dataclass(frozen=True)
class Grid:
    """Where each point of the map sits: row ``iy`` and column ``ix`` of a (ny, nx) grid."""

    iy: np.ndarray
    ix: np.ndarray
    shape: tuple[int, int]
    step: tuple[float, float]
    """(dy, dx) in the file's scan unit."""
    origin: tuple[float, float]
    """(y0, x0) in the file's scan unit."""
    raster: bool = False
    """The points are the grid's nodes in row-major order (as scans write them)."""
    points: np.ndarray | None = None
    """The (y, x) columns the grid was found from."""


def read_header(path: Path) -> list[str]:
    """Header lines of an ``.ang`` (lines starting ``#``) or ``.ctf`` (lines before the columns).

    Decoded as UTF-8, or Latin-1 where that fails (operator names carry accents).
    """
    is_ang = path.suffix.lower() == ".ang"
    lines: list[str] = []
    with open(path, "rb") as fh:
        for raw in fh:
            line = _decode(raw).rstrip("\r\n")
            if (is_ang and not line.startswith("#")) or line.startswith("Phase\tX\tY"):
                break
            lines.append(line)
            if len(lines) >= 1000:
                break
    return lines


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def header_value(header: list[str], key: str) -> str | None:
    """The value after ``key`` (``# KEY: value`` or ``KEY<tab>value``), or None."""
    pattern = re.compile(rf"^#?\s*{re.escape(key)}(?:\s*:\s*|\s+)(.*?)\s*$")
    for line in header:
        if match := pattern.match(line):
            return match.group(1)
    return None


def refuse_unsupported_grid(path: Path, header: list[str]) -> None:
    """Refuse Oxford ``JobMode Interactive`` point lists and EDAX hexagonal grids."""
    mode = header_value(header, "JobMode")
    if mode is not None and mode != "Grid":
        raise LoaderError(
            f"{path}: JobMode {mode}: the points were placed individually, not on a grid; "
            "refusing to build a voxel grid (no step can be derived)"
        )
    grid = header_value(header, "GRID") or ""
    if grid.startswith("HexGrid"):
        raise LoaderError(
            f"{path}: GRID HexGrid: hexagonal sampling is not a square voxel grid; "
            "resample it to a square grid first (e.g. in OIM Analysis or MTEX)"
        )


def check_phase_blocks(path: Path, header: list[str]) -> None:
    """Refuse an ``.ang`` header whose phase blocks orix would pair up wrongly.

    orix collects the ``# Phase``, ``MaterialName``, ``Symmetry`` and ``LatticeConstants``
    lines of the header into lists and pairs them by position: where one block lacks a line,
    or has a name orix does not take (not starting with A-z, 0-9 or a space), the names and
    symmetries of the next phases shift onto the wrong ids; an empty name shifts the names of
    the next phases too, when orix builds its phase list. The header is read here with orix's
    own parser and refused when its lists differ in length or a name is empty.
    """
    if path.suffix.lower() != ".ang":
        return
    from orix.io.plugins.ang import _get_phases_from_header  # the parser io.load uses

    try:
        phases, _ = _get_phases_from_header(header)
    except Exception:  # orix fails on this header in io.load too, with its own message
        return
    counts = {key: len(phases[key]) for key in ("ids", "names", "point_groups")}
    counts["lattice constants"] = len(phases["lattice_constants"])
    if len(set(counts.values())) > 1:
        found = ", ".join(f"{n} {key}" for key, n in counts.items())
        raise LoaderError(
            f"{path}: broken header: the phase blocks are incomplete (orix reads {found}); "
            "each phase needs a MaterialName, Symmetry and LatticeConstants line"
        )
    for pid, name in zip(phases["ids"], phases["names"], strict=True):
        if not name:
            raise LoaderError(
                f"{path}: broken header: phase {pid} has an empty MaterialName "
                "(orix would give it the name of the next phase)"
            )


def read_crystal_map(path: Path) -> Any:
    """orix's `CrystalMap`; phase names kept verbatim; reader warnings re-raised as ours."""
    from orix import io

    options = {"autogen_names": False} if path.suffix.lower() == ".ang" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            xmap = io.load(path, **options)
        except Exception as err:
            raise LoaderError(f"{path}: orix cannot read it as an EBSD map: {err}") from err
    for warning in caught:
        warnings.warn(f"{path}: orix: {warning.message}", LoaderWarning, stacklevel=4)
    return xmap


def find_grid(path: Path, xmap: Any, like: Grid | None = None) -> Grid:
    """Place every point on a square grid from its x/y columns, or refuse the map.

    The step along an axis is its extent over the number of distinct values less one; the
    points must then fill that grid exactly: one point per node, each within `GRID_TOLERANCE`
    steps of it. ``like`` (a grid found before, such as the previous serial section's) is
    returned as it is where the map's x/y columns are the very ones it was found from.
    """
    n = xmap.size
    y, x = (np.zeros(n) if c is None else np.asarray(c, np.float64) for c in (xmap.y, xmap.x))
    if like is not None and like.points is not None and np.array_equal(like.points, (y, x)):
        return like
    uy, ux = np.unique(y), np.unique(x)
    if n != uy.size * ux.size or min(uy.size, ux.size) < 2:
        raise LoaderError(
            f"{path}: {n} points on {uy.size} distinct y and {ux.size} distinct x values do not "
            "fill a square grid: not a gridded map, a single row or column, or a truncated file"
        )
    dy, dx = ((u[-1] - u[0]) / (u.size - 1) for u in (uy, ux))
    fy, fx = (y - uy[0]) / dy, (x - ux[0]) / dx
    iy, ix = np.rint(fy).astype(np.int64), np.rint(fx).astype(np.int64)
    off = max(np.abs(fy - iy).max(), np.abs(fx - ix).max())
    node = iy * ux.size + ix
    if off > GRID_TOLERANCE or np.bincount(node, minlength=n).max() > 1:
        raise LoaderError(
            f"{path}: points are not on a square grid of step {dy:g} x {dx:g} "
            f"(largest distance from a grid node {off:.3g} steps, or repeated nodes)"
        )
    raster = bool(np.array_equal(node, np.arange(n)))
    step, origin = (float(dy), float(dx)), (float(uy[0]), float(ux[0]))
    return Grid(iy, ix, (uy.size, ux.size), step, origin, raster, np.stack((y, x)))


def compare_header(path: Path, header: list[str], grid: Grid) -> None:
    """Warn when the header's grid (columns, rows, steps) disagrees with the data's."""
    keys = ("NCOLS_ODD", "NROWS", "XSTEP", "YSTEP")
    if path.suffix.lower() == ".ctf":
        keys = ("XCells", "YCells", "XStep", "YStep")
    stated = [header_value(header, key) for key in keys]
    found = (grid.shape[1], grid.shape[0], grid.step[1], grid.step[0])
    differ = [
        f"{key} {text} (data: {value:g})"
        for key, text, value in zip(keys, stated, found, strict=True)
        if text and not _close(number_or_text(text), value)
    ]
    if differ:
        warnings.warn(
            f"{path}: the header disagrees with the x/y columns: {', '.join(differ)}; "
            f"using the data's grid, {grid.shape[0]} rows x {grid.shape[1]} columns",
            LoaderWarning,
            stacklevel=3,
        )


def _close(stated: float | str, found: float) -> bool:
    return isinstance(stated, float) and bool(np.isclose(stated, found, rtol=1e-4))


def grid_step_um(
    path: Path, unit: str, grid: Grid, voxel_size_um: float | Sequence[float] | None
) -> tuple[tuple[float, float], str]:
    """(dy, dx) in µm and where the unit comes from.

    Neither format writes a unit: µm is the EDAX and Oxford convention, and orix assumes nm
    for ASTAR ``.ang`` exports, which is recorded as assumed and warned about.
    """
    if unit not in UNIT_UM:
        raise LoaderError(f"{path}: unknown scan unit {unit!r} (expected one of {list(UNIT_UM)})")
    from_file = (grid.step[0] * UNIT_UM[unit], grid.step[1] * UNIT_UM[unit])
    if voxel_size_um is None:
        if unit == "um":
            return from_file, "format convention (um)"
        warnings.warn(
            f"{path}: the file does not state its length unit; orix assumes {unit} for this "
            f"vendor, giving a step of {from_file[0]:g} um (pass voxel_size_um to set it)",
            LoaderWarning,
            stacklevel=3,
        )
        return from_file, f"assumed by orix ({unit}), not stated in the file"
    given = _voxel_zyx(path, voxel_size_um)[1:]
    if not np.allclose(given, from_file, rtol=1e-6):
        warnings.warn(
            f"{path}: voxel_size_um {given[0]:g} x {given[1]:g} um replaces the file's step "
            f"{from_file[0]:g} x {from_file[1]:g} um (scan unit {unit})",
            LoaderWarning,
            stacklevel=3,
        )
    return given, "voxel_size_um given by the user"


def _voxel_zyx(path: Path, voxel_size_um: float | Sequence[float]) -> tuple[float, float, float]:
    """``voxel_size_um`` as (z, y, x) in µm: one value for all three, or three values."""
    sizes = [float(v) for v in np.atleast_1d(voxel_size_um)]
    if len(sizes) not in (1, 3) or min(sizes) <= 0:
        raise LoaderError(
            f"{path}: voxel_size_um must be one or three positive values, got {sizes}"
        )
    return tuple(sizes * 3 if len(sizes) == 1 else sizes)  # type: ignore[return-value]


def number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
