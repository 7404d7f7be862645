"""Serial-section EBSD: maps of consecutive FIB-SEM sections read into one 3-D scale group.

Each section is read by the single-map reader (`fusion.loaders.ebsd.read_section`), so its
grid comes from its own x/y columns and its phases from its own header. The sections are
ordered by the number in their file names (the last run of digits: ``S07.ANG`` is section 7),
which must run without a gap or a repeat; every section must have the grid (shape, step and
origin) and the phases (names, ids, point groups) of the first. The section spacing is in no
EBSD file: it must be given (``slice_spacing_um``, ``--slice-spacing``); ``z`` is then
``number × spacing`` from the first section's number.

The group ``ebsd`` holds the channels of one map with ``z`` of the number of sections. The
maps' warnings that are the same for every section (a stale header, an assumed unit) are given
once, naming how many sections they concern. The files are one entity: the sha256 of their
``sha256sum`` manifest in section order, their total size.
"""

from __future__ import annotations

import glob
import itertools
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from fusion.base import hash_file
from fusion.schema import option_error

from ._base import LoaderError, LoaderWarning
from ._build import dataset
from ._provenance import files_entity, make_tree, record_load, software

if TYPE_CHECKING:
    from .ebsd import Section

__all__ = ["expand_sections", "open_sections"]

SAME_ATTRS = ("flag_values", "flag_meanings", "phase_names", "crystal_symmetry", "point_groups")
"""Channel attributes every section must share (on ``phase`` and ``orientation``)."""


def expand_sections(paths: Path | Sequence[Path]) -> list[Path]:
    """The section files of a folder, a list of files, or a quoted glob pattern."""
    if isinstance(paths, Path) and paths.is_dir():
        from .ebsd import FORMATS

        return sorted(p for p in paths.iterdir() if p.suffix.lower() in FORMATS)
    out: list[Path] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        text = str(path)
        if any(c in text for c in "*?[") and not Path(text).exists():
            found = sorted(Path(p) for p in glob.glob(text))
            if not found:
                raise LoaderError(f"{text}: no file matches this pattern")
            out.extend(found)
        else:
            out.append(Path(path))
    return out


def open_sections(
    paths: Path | Sequence[Path],
    slice_spacing_um: float | None,
    material: str,
    voxel_size_um: float | Sequence[float] | None,
) -> xr.DataTree:
    """Read serial sections into one tree (see the module notes)."""
    from .ebsd import CONVERSION, FORMATS, GROUP, read_section

    files = _ordered(expand_sections(paths))
    spacing = _spacing(files, slice_spacing_um)
    with record_load(slice_spacing_um=spacing, voxel_size_um=voxel_size_um) as record:
        sections: list[Section] = []
        hashing = ThreadPoolExecutor(1, thread_name_prefix="fusion-sha256")
        digests = [hashing.submit(hash_file, path) for _, path in files]  # beside orix's reads
        hashing.shutdown(wait=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LoaderWarning)
            for index, (_, path) in enumerate(files):
                like = sections[-1].grid if sections else None
                sections.append(read_section(path, voxel_size_um, metadata=index == 0,
                                             sha256=digests[index].result, like=like))  # fmt: skip
        said = [w for w in caught if issubclass(w.category, LoaderWarning)]
        _warn_once(said, [p for _, p in files])
        first = sections[0]
        for (_, path), section in zip(files, sections, strict=True):
            _check_like(path, section, files[0][1], first)
        record.parameters.update({**first.units, "sections": len(files)})
        group = _stack(sections, [n for n, _ in files], spacing, files)
        suffix = files[0][1].suffix.lower()
        entity = files_entity(
            files[0][1].parent,
            [p for _, p in files],
            [s.entity["sha256"] for s in sections],
            f"{FORMATS[suffix]} serial sections",
        )
    return make_tree(
        title=f"{files[0][1].name} … {files[-1][1].name} ({len(files)} sections)",
        group=GROUP,
        dataset=group,
        entity=entity,
        reader=software("orix"),
        record=record,
        material=material,
        conversions={"convert": CONVERSION},
    )


def _ordered(files: list[Path]) -> list[tuple[int, Path]]:
    """(section number, file) in order; a file without a number, a repeat or a gap is refused."""
    if len(files) < 2:
        raise LoaderError(f"{files[0] if files else 'no file'}: serial sections need two or more "
                          "maps")  # fmt: skip
    numbered: dict[int, Path] = {}
    for path in files:
        digits = re.findall(r"\d+", path.stem)
        if not digits:
            raise LoaderError(f"{path}: no section number in the file name")
        number = int(digits[-1])
        if number in numbered:
            raise LoaderError(f"{path}: section {number} again (also {numbered[number].name})")
        numbered[number] = path
    order = sorted(numbered)
    for before, after in itertools.pairwise(order):
        if after != before + 1:
            missing = (f"section {before + 1} is" if after == before + 2
                       else f"sections {before + 1}-{after - 1} are")  # fmt: skip
            raise LoaderError(f"{numbered[after]}: {missing} missing before it (after "
                              f"{numbered[before].name})")  # fmt: skip
    return [(n, numbered[n]) for n in order]


def _spacing(files: list[tuple[int, Path]], value: Any) -> float:
    if value is None:
        raise option_error(LoaderError, f"{files[0][1].parent}: {len(files)} sections; the "
                           "spacing between them is in no EBSD file: give it in micrometres, "
                           "{slice_spacing_um}", slice_spacing_um="...")  # fmt: skip
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise LoaderError(f"slice_spacing_um must be a positive number of µm, got {value!r}")
    return float(value)


def _check_like(path: Path, section: Section, first_path: Path, first: Section) -> None:
    """A section with another grid or other phases than the first is refused, naming both."""
    for dim in ("y", "x"):
        a, b = section.coords[dim].values, first.coords[dim].values
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-9):
            raise LoaderError(f"{path}: its {dim} grid ({a.size} points from {a[0]:g} µm, step "
                              f"{_step(a):g} µm) differs from {first_path.name}'s ({b.size} "
                              f"from {b[0]:g}, step {_step(b):g})")  # fmt: skip
    if set(section.channels) != set(first.channels):
        raise LoaderError(f"{path}: channels {sorted(section.channels)} differ from "
                          f"{first_path.name}'s {sorted(first.channels)}")  # fmt: skip
    for name in ("phase", "orientation"):
        mine, theirs = section.channels[name].attrs, first.channels[name].attrs
        for key in SAME_ATTRS:
            if mine.get(key) != theirs.get(key):
                raise LoaderError(f"{path}: its phases ({key} {mine.get(key)!r}) differ from "
                                  f"{first_path.name}'s ({theirs.get(key)!r})")  # fmt: skip


def _step(values: np.ndarray) -> float:
    return float((values[-1] - values[0]) / (values.size - 1)) if values.size > 1 else 0.0


def _stack(
    sections: list[Section], numbers: list[int], spacing: float, files: list[tuple[int, Path]]
) -> xr.Dataset:
    """The sections' channels along z (z = number × spacing), the first's attributes."""
    first = sections[0]
    channels = {}
    for name, variable in first.channels.items():
        values = np.concatenate([s.channels[name].values for s in sections], axis=0)
        attrs = {**variable.attrs, "section_files": [p.name for _, p in files]}
        channels[name] = xr.Variable(variable.dims, values, attrs)
    z = np.asarray(numbers, dtype=np.float64) * spacing
    coords = {"z": xr.Variable("z", z, {"units": "um", "long_name": "z position (section)"})}
    coords.update({k: v for k, v in first.coords.items() if k != "z"})
    return dataset(channels, coords, dict(first.units))


def _warn_once(caught: list[warnings.WarningMessage], files: list[Path]) -> None:
    """Each warning once: the same text for every section (its file name aside) is one line."""
    seen: dict[str, list[str]] = {}
    for warning in caught:
        text = str(warning.message)
        for path in files:
            if text.startswith(f"{path}: "):
                seen.setdefault(text[len(f"{path}: ") :], []).append(path.name)
                break
        else:
            seen.setdefault(text, [])
    for text, names in seen.items():
        where = f"{names[0]} and {len(names) - 1} more sections: " if len(names) > 1 else (
            f"{names[0]}: " if names else "")  # fmt: skip
        warnings.warn(where + text, LoaderWarning, stacklevel=4)
