"""Helpers every loader shares: the file entity, the load activity, coordinates, the tree."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fusion.base import hash_bytes, hash_file
from fusion.schema import end_when_written
from fusion.schema.provenance import add_activity, file_entity, new_root, now, software_info

from ._base import LoaderError
from ._build import tree

__all__ = [
    "Digest",
    "LoadRecord",
    "file_entity",
    "files_entity",
    "jsonable",
    "make_tree",
    "original_metadata",
    "record_load",
    "software",
    "spatial_coords",
    "voxel_option",
]

BACKGROUND_BYTES = 16 * 2**20
"""Inputs at least this large are hashed in background threads (`Digest`); smaller ones on
the caller's thread, where waking a thread costs more than it saves on a busy machine (a
hash under this size takes under ~10 ms; a woken thread can wait that long for a core)."""
HASH_THREADS = 4
"""At most this many threads hash the files of one input."""


class Digest:
    """The sha256 of the files of one input, each file read once where the reader allows it.

    ``Digest(*paths)`` starts hashing inputs of `BACKGROUND_BYTES` or more in background
    threads, which overlap the reader's work (and, for many files, spread over free cores: up
    to `HASH_THREADS`, leaving one core to the reader). A smaller input is hashed on the
    caller's thread: where the reader takes a file object, `source` reads the file's bytes
    once, hashes them and hands the reader the same bytes in memory; other files are hashed
    from disk when `hexdigests` asks. The digests are those of `fusion.base.hash_file` in
    every case.
    As a context manager, files not yet started are dropped when the load fails.
    """

    def __init__(self, *paths: Path) -> None:
        self.paths = paths
        self._futures: list[Future[str]] = []
        self._hashed: dict[Path, str] = {}
        if sum(p.stat().st_size for p in paths) >= BACKGROUND_BYTES:
            workers = max(1, min(HASH_THREADS, len(paths), (os.cpu_count() or 1) - 1))
            pool = ThreadPoolExecutor(workers, thread_name_prefix="fusion-sha256")
            self._futures = [pool.submit(_sha256_later, p) for p in paths]
            pool.shutdown(wait=False)

    def __enter__(self) -> Digest:
        return self

    def __exit__(self, error_type: object, *_: object) -> None:
        if error_type is not None:  # the load failed: hash no further file
            for future in self._futures:
                future.cancel()  # a no-op for digests computed or being computed

    def source(self, path: Path) -> Path | io.BytesIO:
        """What to hand the reader for ``path``: its bytes in memory (read once and hashed
        now) where the input is hashed on this thread, else the path itself."""
        if self._futures:
            return path
        data = path.read_bytes()
        self._hashed[path] = _sha256_bytes_later(data)
        return io.BytesIO(data)

    def hexdigests(self) -> list[str]:
        """The digest of each path, in order."""
        if not self._futures:
            return [self._hashed.get(p) or _sha256_later(p) for p in self.paths]
        return [future.result() for future in self._futures]

    def hexdigest(self) -> str:
        """The digest of the one path."""
        (digest,) = self.hexdigests()
        return digest


def _sha256_later(path: Path) -> str:
    return hash_file(path)  # looked up when called: the benchmarks patch it out


def _sha256_bytes_later(data: bytes) -> str:
    return hash_bytes(data)  # looked up when called: the benchmarks patch it out


def software(distribution: str, name: str | None = None) -> dict[str, str]:
    """``{"name", "version"}`` of an installed distribution (the reader that did the work)."""
    found = software_info(distribution)  # the version is looked up once per process
    return found if name is None else {"name": name, "version": found["version"]}


def files_entity(
    folder: Path, files: Sequence[Path], digests: Sequence[str], what: str
) -> dict[str, Any]:
    """Several files read as one input, as one file entity: the sha256 of their
    ``sha256sum``-style manifest, their total size.

    The digest is that of the lines ``<sha256>  <name>\n`` of the files in load order, so
    ``sha256sum FILES | sha256sum`` in the folder reproduces it.
    """
    manifest = "".join(f"{d}  {f.name}\n" for d, f in zip(digests, files, strict=True)).encode()
    return file_entity(
        folder,
        format=f"{what} ({len(files)} files; sha256 of the sha256sum manifest)",
        sha256=hash_bytes(manifest),
        size=sum(f.stat().st_size for f in files),
    )


def jsonable(value: Any) -> Any:
    """Turn reader metadata (numpy scalars and arrays, bytes, datetimes) into plain JSON.

    Dict keys become str as ``json`` writes them (``1``, ``0.5``, ``true``, ``null``; other
    types their ``str``), tuples lists, non-finite floats their text (``"nan"``), numpy arrays
    of more than 4096 values ``"<array (shape)>"``, anything else unknown its ``str``.
    """
    kind = type(value)  # exact built-in types first: vendor metadata is mostly these
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if kind is dict:
        return {k if type(k) is str else _key(k): jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    return _jsonable_other(value)


def _jsonable_other(value: Any) -> Any:
    """`jsonable` for everything but the exact built-in types."""
    if isinstance(value, Mapping):
        return {k if type(k) is str else _key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.size > 4096:
            return f"<array {value.shape}>"
        plain = value.dtype.kind in "biu" or (value.dtype.kind == "f" and np.isfinite(value).all())
        return value.tolist() if plain else jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes the keys it accepts; other keys as their ``str``."""
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return int.__repr__(key)
    if isinstance(key, float) and math.isfinite(key):
        return float.__repr__(key)
    return str(key)


def voxel_option(where: str | os.PathLike[str], value: Any) -> tuple[float, float, float] | None:
    """The caller's ``voxel_size_um`` as (z, y, x) in µm (one value means isotropic); None
    where not given; a `LoaderError` naming ``where`` unless it is 1 or 3 positive numbers."""
    if value is None:
        return None
    values = tuple(value) if isinstance(value, Sequence) else (value,)
    values = values * 3 if len(values) == 1 else values
    numbers = all(isinstance(v, Real) and not isinstance(v, bool) for v in values)
    if len(values) != 3 or not numbers or not all(math.isfinite(v) and v > 0 for v in values):
        raise LoaderError(f"{where}: voxel_size_um must be 1 or 3 positive numbers, got {value!r}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def spatial_coords(
    shape: Sequence[int],
    voxel_um: Sequence[float],
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> dict[str, xr.Variable]:
    """z, y, x coordinates (voxel centres, float64, micrometres)."""
    return {
        dim: xr.Variable(
            dim,
            o + s * np.arange(n, dtype=np.float64),
            {"units": "um", "long_name": f"{dim} position"},
        )
        for dim, n, s, o in zip("zyx", shape, voxel_um, origin_um, strict=True)
    }


@dataclass
class LoadRecord:
    """Times and parameters of one load activity; filled in by `record_load`."""

    started: str = ""
    ended: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@contextmanager
def record_load(**parameters: Any) -> Iterator[LoadRecord]:
    """Time a load: ``with record_load(step_um=0.4) as rec: ...``."""
    record = LoadRecord(parameters=jsonable(parameters))
    record.started = now()
    yield record
    record.ended = now()


def make_tree(
    *,
    title: str,
    group: str,
    dataset: xr.Dataset,
    entity: dict[str, Any],
    reader: dict[str, str],
    record: LoadRecord,
    material: str = "unspecified",
    extra_groups: Mapping[str, xr.Dataset] | None = None,
    conversions: Mapping[str, dict[str, Any]] | None = None,
    in_memory: bool = False,
    schema: str | None = None,
) -> xr.DataTree:
    """Wrap loaded groups into a fused dataset with a file entity and a ``load`` activity.

    ``schema`` is the format version to declare where the groups use what a later version
    adds (EDS spectra: ``fusion/0.3``); by default the version writers declare.

    Every data variable of every group gets ``provenance: "load"`` and is listed in the
    activity's ``generated``, except the channels that a conversion made: ``conversions``
    maps an activity name to its record (``type``, ``parameters``, ``used``, ``generated``
    as channel paths, ...), to which the loader's software and the load's times are added;
    its channels get that activity as ``provenance``. An activity with a dask channel (a large
    volume read block by block when written) is marked to end when the tree is written
    (`fusion.schema.end_when_written`), unless ``in_memory`` says the dask channels only serve
    values read already.
    """
    groups = {group: dataset, **(extra_groups or {})}
    conversions = conversions or {}
    made_by = {path: name for name, act in conversions.items() for path in act["generated"]}
    generated = []
    for name, ds in groups.items():
        for key, var in ds.data_vars.variables.items():  # Variables: no DataArray is built
            path = f"/{name}/{key}"
            var.attrs["provenance"] = made_by.get(path, "load")
            if path not in made_by:
                generated.append(path)
    root = new_root(
        title, sample=material, created=record.ended, **({"schema": schema} if schema else {})
    )
    add_activity(
        root,
        "load",
        activity_id="load",
        parameters={**record.parameters, "reader": reader},
        used=["raw"],
        generated=generated,
        entities={"raw": entity},
        software="fusion-loaders",
        started=record.started,
        ended=record.ended,
    )
    for name, conversion in conversions.items():
        fields = {k: copy.deepcopy(v) for k, v in conversion.items() if k != "type"}
        add_activity(root, conversion["type"], activity_id=name, software="fusion-loaders",
                     started=record.started, ended=record.ended, **fields)  # fmt: skip
    activities = root["provenance"]["activities"]
    lazy = [] if in_memory else _lazy_activities(activities, groups)
    return end_when_written(tree({"fusion": root}, groups), *lazy)


def _lazy_activities(
    activities: Mapping[str, dict[str, Any]], groups: Mapping[str, xr.Dataset]
) -> list[str]:
    """The activities that generated a channel whose values are read only when written."""
    lazy = {f"/{name}/{key}" for name, ds in groups.items()
            for key, var in ds.data_vars.variables.items() if var.chunks is not None}  # fmt: skip
    return [name for name, activity in activities.items() if lazy & set(activity["generated"])]


def original_metadata(metadata: Any) -> str:
    """The instrument's own metadata as a JSON string, kept on the channel so nothing is lost.

    The text is that of ``json.dumps(jsonable(metadata), ensure_ascii=False, sort_keys=True)``.
    The encoder writes the built-in types itself and calls `jsonable` only for the others
    (numpy values, bytes, dates, other mappings), which saves a copy of the whole tree (a
    third of the time for the 34 kB of a Zeiss TIFF). Where it meets what it would write
    differently (a non-finite float, a key it does not take), the tree goes through
    `jsonable` first. The two can differ only in the order of keys of a dict whose keys are
    all numbers (numeric here, as text there): the same JSON object.
    """
    try:
        return json.dumps(
            metadata, ensure_ascii=False, sort_keys=True, allow_nan=False, default=jsonable
        )
    except (TypeError, ValueError):
        return json.dumps(jsonable(metadata), ensure_ascii=False, sort_keys=True)
