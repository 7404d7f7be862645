"""EBSD orientation maps: ``.ang`` (EDAX TSL, EMsoft, NanoMegas ASTAR) and ``.ctf`` (Oxford), via orix.

One scale group ``ebsd`` on ``(z, y, x)`` with ``z`` of length 1 holds:

``phase``
    Label channel (int32). Values are the file's phase ids as orix reports them; ``-1`` is
    ``not_indexed`` (EDAX: CI = -1; Oxford: phase 0). A phase name becomes a flag word by
    replacing every run of characters outside ``[A-Za-z0-9_.+-]`` with ``_`` and trimming ``_``
    (``"Iron bcc (old)"`` -> ``Iron_bcc_old``, ``"austenite/austenite"`` ->
    ``austenite_austenite``); a clash gets ``_<id>`` appended. The verbatim names are kept in the
    attribute ``phase_names`` (word -> name), with ``lattice_parameters`` (Å and degrees),
    ``point_groups`` and ``space_groups``.
``orientation``
    Unit quaternions (w, x, y, z) on ``(z, y, x, quat)``, crystal-to-sample, NaN where not indexed.
    orix reads the Bunge Euler angles (radians in ``.ang``, degrees in ``.ctf``) as
    sample-to-crystal rotations; they are conjugated here and the step is recorded as a ``convert``
    activity. ``crystal_symmetry`` holds the Laue class of orix's point group of each phase (EBSD
    cannot tell a point group from its Laue class: EDAX symmetry 43 -> ``m-3m``, Oxford Laue
    group 9 -> ``6/mmm``). The sample and crystal reference frames are those of the writing
    software: nothing is rotated (see the ``reference_frame`` attribute).
quality channels
    One per column orix reads besides angles, coordinates and phase (``iq``, ``ci``, ``fit``,
    ``dp``, ``index``, ``reliability``, ``bands``, ``error``, ``mad``, ``bc``, ``bs`` ...).

Coordinates come from the x/y columns (step and origin), never from the header. A header grid
that disagrees with the data is a `LoaderWarning`; points that are not on a square grid
(Oxford ``JobMode Interactive``, EDAX ``HexGrid``, missing or scattered points) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._base import LoaderError
from ._build import dataset
from ._ebsdread import (
    Grid,
    check_phase_blocks,
    compare_header,
    find_grid,
    grid_step_um,
    header_value,
    number_or_text,
    read_crystal_map,
    read_header,
    refuse_unsupported_grid,
)
from ._provenance import (
    Digest,
    file_entity,
    make_tree,
    original_metadata,
    record_load,
    software,
    spatial_coords,
)

__all__ = ["EbsdLoader"]

GROUP = "ebsd"
NOT_INDEXED = -1
FORMATS = {".ang": "EDAX TSL .ang", ".ctf": "Oxford Instruments .ctf"}
FRAMES = {
    ".ang": "EDAX TSL sample frame as written in the .ang file",
    ".ctf": "Oxford Instruments sample frame as written in the .ctf file",
}
SETTINGS = {
    # header keyword -> channel attribute
    ".ang": {
        "x-star": "pattern_center_x_star",
        "y-star": "pattern_center_y_star",
        "z-star": "pattern_center_z_star",
        "WorkingDistance": "working_distance_mm",
        "OPERATOR": "operator",
        "SAMPLEID": "sample_id",
        "SCANID": "scan_id",
    },
    ".ctf": {
        "Prj": "project",
        "Author": "operator",
        "KV": "beam_energy_kV",
        "Mag": "magnification",
        "Coverage": "coverage_percent",
        "TiltAngle": "tilt_angle_degree",
        "TiltAxis": "tilt_axis_degree",
    },
}
CONVERSION = {
    "type": "convert",
    "parameters": {"operation": "conjugate", "from": "sample_to_crystal (orix, Bunge)"},
    "used": ["raw"],
    "generated": [f"/{GROUP}/orientation"],
    "description": "Bunge Euler angles read by orix as sample-to-crystal rotations, "
    "conjugated into crystal-to-sample unit quaternions",
}
"""The conjugation of orix's rotations, recorded as a ``convert`` activity (spec §6.7)."""
INTEGER_PROPERTIES = {"bands", "error", "BC", "BS"}
QUALITY = {
    # orix property -> (channel, long_name, units)
    "iq": ("iq", "image quality", "1"),
    "ci": ("ci", "confidence index", "1"),
    "fit": ("fit", "pattern fit (mean angular deviation of the bands)", "degree"),
    "detector_signal": ("detector_signal", "secondary detector signal", "1"),
    "dp": ("dp", "dictionary indexing dot product", "1"),
    "ind": ("index", "ACOM template matching index", "1"),
    "rel": ("reliability", "ACOM reliability", "1"),
    "relx100": ("reliability_x100", "ACOM reliability x 100", "1"),
    "bands": ("bands", "number of detected bands", "1"),
    "error": ("error", "indexing error code (0 = success)", "1"),
    "MAD": ("mad", "mean angular deviation", "degree"),
    "BC": ("bc", "band contrast", "1"),
    "BS": ("bs", "band slope", "1"),
}


class EbsdLoader:
    """EBSD maps (``.ang``, ``.ctf``) read with orix into an orientation, phase and quality group."""

    kind = "ebsd"
    description = "EBSD maps: EDAX/EMsoft/ASTAR .ang and Oxford .ctf, read with orix"

    accepts_many = True
    """Serial sections: a list of maps, or a folder of them, read into one 3-D group."""

    def can_open(self, path: Path | Sequence[Path]) -> bool:
        """True for a file with an ``.ang`` or ``.ctf`` suffix (any case), a list of them, or a
        folder holding them."""
        if isinstance(path, list | tuple):
            return bool(path) and all(self.can_open(p) for p in path)
        if path.is_dir():
            return any(p.suffix.lower() in FORMATS for p in path.iterdir())
        return path.is_file() and path.suffix.lower() in FORMATS

    def open(
        self,
        path: Path | Sequence[Path],
        *,
        material: str = "unspecified",
        voxel_size_um: float | Sequence[float] | None = None,
        slice_spacing_um: float | None = None,
    ) -> xr.DataTree:
        """Read an EBSD map, or serial sections into one volume.

        Parameters
        ----------
        path
            ``.ang`` or ``.ctf`` file; or, for serial sections, a list of them or a folder of
            them (see `fusion.loaders._ebsdstack`).
        slice_spacing_um
            Serial sections only (required there): the distance between sections in µm, which
            no EBSD file records.
        material
            Sample material to record.
        voxel_size_um
            Step in µm (one value, or z y x) replacing the file's; for files whose unit is not
            stated (ASTAR ``.ang``). A value that disagrees with the file is a `LoaderWarning`.

        Raises
        ------
        LoaderError
            Unreadable file, or points that are not on a square grid; for sections, also a
            missing spacing, a gap or repeat in the section numbers, or a section whose grid or
            phases differ from the first (the message names the file).
        """
        if isinstance(path, list | tuple) or path.is_dir():
            from ._ebsdstack import open_sections  # serial sections: one 3-D group

            return open_sections(path, slice_spacing_um, material, voxel_size_um)
        if slice_spacing_um is not None:
            raise LoaderError(f"{path}: slice_spacing_um is for serial sections (several maps)")
        with record_load(voxel_size_um=voxel_size_um) as record:
            section = read_section(path, voxel_size_um)
            record.parameters.update(section.units)
        return make_tree(
            title=path.name,
            group=GROUP,
            dataset=section.dataset,
            entity=section.entity,
            reader=software("orix"),
            record=record,
            material=material,
            conversions={"convert": CONVERSION},
        )


@dataclass
class Section:
    """One map as read: its group's parts, its file entity and what the load activity records."""

    channels: dict[str, xr.Variable]
    coords: dict[str, xr.Variable]
    units: dict[str, Any]
    """The scan unit and where it comes from: the group's attributes and load parameters."""
    entity: dict[str, Any]
    grid: Grid | None = None

    @property
    def dataset(self) -> xr.Dataset:
        """The ``ebsd`` group (built when asked: serial sections stack the parts instead)."""
        return dataset(self.channels, self.coords, self.units)


def read_section(
    path: Path,
    voxel_size_um: float | Sequence[float] | None,
    *,
    metadata: bool = True,
    sha256: Callable[[], str] | None = None,
    like: Grid | None = None,
) -> Section:
    """Read one ``.ang`` / ``.ctf`` map into the ``ebsd`` group (z of length 1).

    For serial sections: without ``metadata`` the channels lack the settings and
    ``original_metadata`` attributes (the stack takes them from the first section);
    ``sha256`` gives the digest of a file hashed elsewhere; ``like`` is the previous
    section's grid, taken as it is where the points are the same.
    """
    header = read_header(path)
    refuse_unsupported_grid(path, header)
    check_phase_blocks(path, header)
    with Digest(*([] if sha256 else [path])) as digest:  # hashed while orix reads
        xmap = read_crystal_map(path)
        grid = find_grid(path, xmap, like)
        compare_header(path, header, grid)
        step_um, unit_source = grid_step_um(path, xmap.scan_unit, grid, voxel_size_um)
        units = {"scan_unit": xmap.scan_unit, "scan_unit_source": unit_source}
        channels, coords = _group_parts(path, xmap, grid, step_um, header if metadata else None)
        found = sha256() if sha256 else digest.hexdigest()
        entity = file_entity(path, format=FORMATS[path.suffix.lower()], sha256=found)
    return Section(channels, coords, units, entity, grid)


# -- channels ---------------------------------------------------------------------------------


def _group_parts(
    path: Path,
    xmap: Any,
    grid: Grid,
    step_um: tuple[float, float],
    header: list[str] | None,
) -> tuple[dict[str, xr.Variable], dict[str, xr.Variable]]:
    """The ``ebsd`` group's channels (phase, orientation, quality) and coordinates on the
    data's grid."""
    origin = (o * um / step for o, um, step in zip(grid.origin, step_um, grid.step, strict=True))
    coords = spatial_coords((1, *grid.shape), (0.0, *step_um), (0.0, *origin))  # z: one plane
    coords["quat"] = xr.Variable("quat", np.array(["w", "x", "y", "z"], dtype=object))
    phases = _phases(path, xmap)
    channels = {
        "phase": _phase_channel(xmap, grid, phases),
        "orientation": _orientation_channel(path, xmap, grid, phases, header or []),
        **_quality_channels(xmap, grid),
    }
    if header is not None:
        shared = {
            **_settings(header, path.suffix.lower()),
            "original_metadata": original_metadata(
                {"header": header, "read": _summary(xmap, grid)}
            ),
        }
        for var in channels.values():
            var.attrs.update(shared)
    return channels, coords


def _settings(header: list[str], suffix: str) -> dict[str, Any]:
    """Acquisition settings from the header (numbers where they parse); empty ones left out.

    ``.ang``: ``# KEY value`` lines; ``.ctf``: ``Prj`` and ``Author`` lines and the key/value
    pairs after the "Euler angles refer to ..." statement (``Mag``, ``KV``, ``TiltAngle`` ...).
    """
    names = SETTINGS[suffix]
    fields = {key: header_value(header, key) for key in names}
    statement = next((line for line in header if line.startswith("Euler angles refer")), "")
    tokens = statement.split("\t")[1:]
    fields |= dict(zip(tokens[::2], tokens[1::2], strict=False))
    return {names[k]: number_or_text(v) for k, v in fields.items() if k in names and v}


def _on_grid(values: np.ndarray, grid: Grid) -> np.ndarray:
    """Scatter per-point values (n, ...) onto the (1, ny, nx, ...) grid.

    ``values`` must be the caller's own array: points in raster order are only reshaped.
    """
    if grid.raster:
        return values.reshape(grid.shape + values.shape[1:])[np.newaxis]
    out = np.empty(grid.shape + values.shape[1:], dtype=values.dtype)
    out[grid.iy, grid.ix] = values
    return out[np.newaxis]


def _phases(path: Path, xmap: Any) -> dict[int, tuple[str, Any]]:
    """Phase id -> (flag word, orix `Phase`) for every phase of the file."""
    words: dict[int, tuple[str, Any]] = {}
    used = {"not_indexed"}
    for pid, phase in xmap.phases:
        if pid == NOT_INDEXED:
            continue
        if phase.point_group is None:
            raise LoaderError(f"{path}: phase {pid} {phase.name!r} has no crystal symmetry")
        word = re.sub(r"[^A-Za-z0-9_.+-]+", "_", phase.name).strip("_") or "phase"
        if word in used:
            word = f"{word}_{pid}"
        used.add(word)
        words[int(pid)] = (word, phase)
    return words


def _phase_channel(xmap: Any, grid: Grid, phases: dict[int, tuple[str, Any]]) -> xr.Variable:
    ids = _on_grid(np.asarray(xmap.phase_id, dtype=np.int32), grid)
    values = [NOT_INDEXED, *phases]
    attrs = {
        "long_name": "EBSD phase",
        "units": "1",
        "modality": "EBSD",
        "origin": "measured",
        "flag_values": values,
        "flag_meanings": " ".join(["not_indexed", *(word for word, _ in phases.values())]),
        "phase_names": {word: phase.name for word, phase in phases.values()},
        "lattice_parameters": {
            word: [round(float(v), 6) for v in phase.structure.lattice.abcABG()]
            for word, phase in phases.values()
        },
        "lattice_parameters_units": "angstrom, angstrom, angstrom, degree, degree, degree",
        "point_groups": {word: phase.point_group.name for word, phase in phases.values()},
        "space_groups": {
            word: phase.space_group.number
            for word, phase in phases.values()
            if phase.space_group is not None
        },
    }
    return xr.Variable(("z", "y", "x"), ids, attrs)


def _orientation_channel(
    path: Path, xmap: Any, grid: Grid, phases: dict[int, tuple[str, Any]], header: list[str]
) -> xr.Variable:
    """Crystal-to-sample unit quaternions: orix's sample-to-crystal rotations, conjugated."""
    quat = np.array(xmap.rotations.data, dtype=np.float64)
    sign = np.where(quat[:, 0] < 0, -1.0, 1.0)  # q and -q are one rotation; store w >= 0
    quat[:, 0] *= sign
    quat[:, 1:] *= -sign[:, np.newaxis]  # conjugate: sample-to-crystal -> crystal-to-sample
    quat[~np.asarray(xmap.is_indexed)] = np.nan
    suffix = path.suffix.lower()
    statement = next((line for line in header if line.startswith("Euler angles refer")), "")
    statement = statement.split("\t")[0]
    attrs = {
        "long_name": "crystal orientation",
        "units": "1",
        "modality": "EBSD",
        "origin": "measured",
        "rotation": "crystal_to_sample",
        "crystal_symmetry": {w: _laue_name(phase.point_group) for w, phase in phases.values()},
        "phase_channel": "phase",
        "euler_angles": "Bunge (ZXZ) phi1 Phi phi2, "
        + ("degrees (.ctf)" if suffix == ".ctf" else "radians (.ang)")
        + "; orix reads them as sample-to-crystal rotations, conjugated here",
        "reference_frame": FRAMES[suffix]
        + (f" ({statement})" if statement else "")
        + "; not rotated onto the map's x/y axes, which may differ from it by a fixed rotation",
        "comment": "Cartesian crystal frame: that of the writing software, not converted (orix's "
        "own is e1 || a, e3 || c*; for hexagonal phases vendors differ by 30 degrees about c, "
        "a versus a*). Not indexed points hold NaN.",
    }
    return xr.Variable(("z", "y", "x", "quat"), _on_grid(quat, grid), attrs)


_LAUE_NAMES: dict[tuple[str, bytes, bytes], str] = {}


def _laue_name(point_group: Any) -> str:
    """orix's ``point_group.laue.name``, computed once per group (it costs ~2 ms a phase).

    The key is the group's name and its operations, so groups of one name in other settings
    are computed on their own.
    """
    key = (
        point_group.name,
        np.asarray(point_group.data).tobytes(),
        np.asarray(point_group.improper).tobytes(),
    )
    if key not in _LAUE_NAMES:
        _LAUE_NAMES[key] = point_group.laue.name
    return _LAUE_NAMES[key]


def _quality_channels(xmap: Any, grid: Grid) -> dict[str, xr.Variable]:
    """One channel per per-point property (integers where every value is whole)."""
    channels = {}
    for prop, values in xmap.prop.items():
        name, long_name, units = QUALITY.get(prop, (prop, f"{prop} (column named by orix)", "1"))
        values = np.asarray(values)
        if prop in INTEGER_PROPERTIES and np.array_equal(values, np.rint(values)):
            values = values.astype(np.int32)
        attrs = {"long_name": long_name, "units": units, "modality": "EBSD", "origin": "measured"}
        channels[name] = xr.Variable(("z", "y", "x"), _on_grid(values, grid), attrs)
    return channels


def _summary(xmap: Any, grid: Grid) -> dict[str, Any]:
    """What was read: orix's unit, phases and properties, and the grid found in the data."""
    return {
        "grid_shape": list(grid.shape),
        "grid_step": list(grid.step),
        "scan_unit": xmap.scan_unit,
        "phases": {int(pid): phase.name for pid, phase in xmap.phases},
        "properties": list(xmap.prop),
    }
