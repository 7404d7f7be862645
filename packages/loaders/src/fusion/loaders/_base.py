"""The loader protocol and the one place that chooses a loader.

A loader is any object with ``kind``, ``description``, ``can_open(path)`` and
``open(path, **options) -> xarray.DataTree``, registered in the ``fusion.loaders`` entry-point
group under its kind (``sem``, ``xct``, ``ebsd``, ``eels``, ``ome-zarr``). A loader with
``accepts_urls = True`` is also handed fsspec URLs (as strings). ``choose_loader`` is the only
dispatch; a miss lists what is installed.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import xarray as xr

from fusion.schema import UnreadableFileError

__all__ = [
    "Loader",
    "LoaderError",
    "LoaderWarning",
    "NoSignalError",
    "available_loaders",
    "choose_loader",
    "load",
]


class LoaderError(UnreadableFileError):
    """An instrument file cannot be turned into a dataset; the message names the file."""


class NoSignalError(LoaderError):
    """The file was read, but holds nothing this loader takes (a Velox file without the
    spectrum images asked for); exit 1, the content is not what was asked for."""

    exit_code = 1


class LoaderWarning(UserWarning):
    """The file was read, but something in it deserves a look (e.g. a stale header)."""


@runtime_checkable
class Loader(Protocol):
    """What every technique module provides."""

    kind: str
    """Name used on the command line: ``fusion load KIND FILE``."""
    description: str
    """One line: the formats read and the reader used."""

    def can_open(self, path: Path) -> bool:
        """Cheap check (extension, magic bytes) that this loader reads ``path``."""
        ...

    def open(self, path: Path, **options: Any) -> xr.DataTree:
        """Read ``path`` into a dataset that validates at level ``data``; raise `LoaderError`."""
        ...


@functools.cache
def available_loaders() -> dict[str, Loader]:
    """Installed loaders by kind; a broken plug-in is a warning, not a crash."""
    found: dict[str, Loader] = {}
    for entry in entry_points(group="fusion.loaders"):
        try:
            factory = entry.load()
            found[entry.name] = factory() if isinstance(factory, type) else factory
        except Exception as err:
            warnings.warn(f"fusion loader {entry.name!r} failed to load: {err}", stacklevel=2)
    return dict(sorted(found.items()))


def choose_loader(kind: str) -> Loader:
    """The loader for ``kind``; a `LoaderError` listing the installed kinds otherwise."""
    loaders = available_loaders()
    if kind not in loaders:
        raise LoaderError(f"no loader for {kind!r}; installed: {', '.join(loaders) or 'none'}")
    return loaders[kind]


def load(kind: str, path: str | os.PathLike[str], **options: Any) -> xr.DataTree:
    """Read an instrument file (or folder) of technique ``kind`` into a fused dataset.

    Parameters
    ----------
    kind
        ``sem``, ``xct``, ``ebsd`` or ``eels`` (see `available_loaders`).
    path
        The file, or for XCT slice stacks the folder; for ``ome-zarr`` the store's folder or
        fsspec URL; for serial-section ``ebsd``, a list of maps (or a glob pattern in it) or
        their folder.
    **options
        Loader options, e.g. ``voxel_size_um`` where the file has no calibration.

    Raises
    ------
    LoaderError
        The file is missing, empty, truncated, of another format, or inconsistent; the message
        names the file and the problem.
    """
    loader = choose_loader(kind)
    if isinstance(path, list | tuple):
        return _load_many(kind, loader, path, options)
    location = os.fspath(path)
    if "://" in location and getattr(loader, "accepts_urls", False):
        target: Path | str = location  # fsspec opens it; the loader reports what is wrong
    else:
        target = Path(path)
        if not target.exists():
            raise LoaderError(f"{target}: no such file or folder")
    accepted = _keywords(loader.open)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        raise LoaderError(f"the {kind} loader takes no option {', '.join(unknown)}")
    if not loader.can_open(target):
        raise LoaderError(f"{target}: not a file the {kind} loader reads ({loader.description})")
    return loader.open(target, **options)


def _load_many(kind: str, loader: Loader, paths: Any, options: dict[str, Any]) -> xr.DataTree:
    """Several inputs at once (serial sections), where the loader reads them as one."""
    if not getattr(loader, "accepts_many", False):
        raise LoaderError(f"the {kind} loader reads one input at a time; got {len(paths)}")
    targets = [Path(p) for p in paths]
    for target in targets:
        if not target.exists() and not any(c in str(target) for c in "*?["):
            raise LoaderError(f"{target}: no such file or folder")
    return loader.open(targets, **options)


def _keywords(method: Any) -> set[str] | None:
    """The keyword parameters a loader's ``open`` takes; None where it takes ``**options``."""
    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL}
