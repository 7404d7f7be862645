"""`write`: put a DataTree into a Zarr v3 store so that a crash never leaves a store that validates.

Two mechanisms, both always on:

* The root group carries ``fusion_incomplete`` from the first byte written until the last;
  the validator reports such a store as ``root.incomplete-write``. This is what protects
  object stores, where nothing can be renamed.
* Local folders and zip files are written in a hidden sibling folder (``.NAME.<id>.partial``,
  `fusion.base.partial_sibling`) and moved into place with one rename only when complete; an
  existing dataset is replaced only after the new one is whole, and is kept if anything fails.
  A write that was stopped (killed) leaves its partial behind; the next write to the same
  target removes it, and never one that a running write holds (see `._partials`).

Every array gets its chunk manifest (``fusion_chunks.json``, see `fusion.schema.store._manifest`)
before the marker is removed; the digests are taken from the bytes as they are stored, so
nothing is read back.

Lazy channels are computed while they are stored. The activities a producer marked with
`fusion.schema.end_when_written` get, once every array is stored and before the manifests,
the time that finished as their ``ended`` (and the root its ``modified``); see
`fusion.schema.store._write_times`.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from fusion.base import partial_sibling, remove_path

from .._errors import WriteError, option_error
from ..checks._metadata import INCOMPLETE_MARKER
from ..checks._validate import validate
from ._digest_store import DigestStore
from ._manifest import ChunkDigest, digest, encode_manifest, manifest_key, manifests_for
from ._objects import Objects, open_objects
from ._partials import claimed_partial, remove_stale_partials
from ._room import check_room
from ._write_times import ENDS_WHEN_WRITTEN, ends_when_written, with_written_times

__all__ = ["CHUNK_BYTES", "write"]

CHUNK_BYTES = 4 * 2**20
"""Target size of one chunk of a channel written from in-memory (numpy) data."""


def write(
    tree: xr.DataTree,
    url: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    check: bool = True,
) -> str:
    """Write a fused dataset atomically.

    Parameters
    ----------
    tree
        The dataset; its root carries the ``fusion`` attribute.
    url
        A local folder (``demo.zarr``), a local ``.zip`` file, or an fsspec URL
        (``s3://bucket/demo.zarr``, ``memory://demo.zarr``).
    overwrite
        Replace an existing dataset at ``url``. Without it, an existing one is an error and
        is left untouched.
    storage_options
        Passed to fsspec for URLs.
    check
        Validate the tree's metadata first and refuse to write one that does not conform.

    Returns
    -------
    str
        The location written.

    Raises
    ------
    SchemaError
        ``check`` is on and the metadata does not conform (nothing is written).
    WriteError
        The destination exists (without ``overwrite``) or the write failed; the destination
        is as it was before the call.
    NoRoomError
        A local destination's disk could not hold the data even compressed 100× (see
        `fusion.schema.check_room`; nothing is written).
    SchemaError
        The tree marks (`end_when_written`) an activity its provenance does not hold (nothing
        is written).

    Notes
    -----
    Activities marked with `end_when_written` end when their arrays have been computed and
    stored: their ``ended``, the root's ``modified`` and, where it was their end, ``created``
    are set to that time in the stored metadata (``tree`` itself is not changed).
    """
    if check:
        validate(tree, level="metadata").raise_for_errors()
    ends_when_written(tree.attrs)  # a bad mark is refused before anything is written
    location = os.fspath(url)
    check_room(location, _nbytes(tree))
    if "://" in location:
        _write_to_url(tree, location, overwrite, storage_options or {})
    elif location.endswith(".zip"):
        _write_local(tree, Path(location), overwrite, as_zip=True)
    else:
        _write_local(tree, Path(location), overwrite, as_zip=False)
    return location


def _write_local(tree: xr.DataTree, dest: Path, overwrite: bool, *, as_zip: bool) -> None:
    def fill(partial: Path) -> Path:
        if not as_zip:
            _write_folder(tree, partial)
            return partial
        _write_folder(tree, partial / "store")
        _zip_folder(partial / "store", partial / "archive.zip")
        return partial / "archive.zip"

    write_beside(dest, overwrite, fill)


def write_beside(dest: Path, overwrite: bool, fill: Callable[[Path], Path]) -> None:
    """Write a local store atomically: ``fill(partial)`` writes into a fresh locked partial
    folder beside ``dest`` and returns what to move into place (the folder, or a file in it).

    An existing ``dest`` without ``overwrite`` is a `WriteError`; on any failure ``dest`` is as
    it was and the partial is removed. The dataset writer and the OME view writer share it.
    """
    if dest.exists() and not overwrite:
        raise _exists(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dest)
    with claimed_partial(dest) as partial:
        try:
            _move_into_place(fill(partial), dest)
        except BaseException as err:
            if isinstance(err, WriteError | KeyboardInterrupt):
                raise
            raise WriteError(f"writing {dest} failed, nothing was changed there: {err}") from err
        finally:
            remove_path(partial)


def _exists(dest: str | Path) -> WriteError:
    return option_error(
        WriteError, f"{dest} exists; pass {{overwrite}} to replace it", overwrite="True"
    )


def _zip_folder(folder: Path, archive: Path) -> None:
    """Zip a store uncompressed (chunks are compressed already), root at the archive root."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


def _move_into_place(partial: Path, dest: Path) -> None:
    if not dest.exists():
        os.replace(partial, dest)
        return
    old = partial_sibling(dest, "old")
    os.replace(dest, old)
    try:
        os.replace(partial, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    remove_path(old)


def _write_to_url(
    tree: xr.DataTree, url: str, overwrite: bool, storage_options: Mapping[str, Any]
) -> None:
    store = zarr.storage.FsspecStore.from_url(url, storage_options=dict(storage_options))
    if _has_root(store) and not overwrite:
        raise _exists(url)
    try:
        _write_store(tree, store, open_objects(url, storage_options))
    except Exception as err:
        raise WriteError(
            f"writing {url} failed; the store is marked incomplete and will not validate: {err}"
        ) from err


def _nbytes(tree: xr.DataTree) -> int:
    """The tree's arrays, uncompressed (lazy ones without computing them)."""
    return sum(
        variable.nbytes
        for node in tree.subtree
        for variable in node.to_dataset(inherit=False).variables.values()
    )


def _has_root(store: zarr.abc.store.Store) -> bool:
    try:
        zarr.open_group(store, mode="r")
    except Exception:
        return False
    return True


def _write_folder(tree: xr.DataTree, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_store(tree, zarr.storage.LocalStore(folder), open_objects(folder))


def _write_store(tree: xr.DataTree, store: zarr.abc.store.Store, objects: Objects) -> None:
    """Write with the incomplete marker, add the chunk manifests, then remove the marker and
    consolidate as the last step."""
    recording = DigestStore(store)
    marked = _variable_length_strings(tree.copy(deep=False))
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    marked.attrs = {
        **{key: value for key, value in tree.attrs.items() if key != ENDS_WHEN_WRITTEN},
        INCOMPLETE_MARKER: f"write started {stamp} by fusion-schema {version('fusion-schema')}",
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        marked.to_zarr(
            recording, mode="w", encoding=_encoding(marked), consolidated=False, zarr_format=3
        )
        group = zarr.open_group(store, mode="r+")
        _end_pending_activities(group, ends_when_written(tree.attrs))
        _write_manifests(objects, recording.log.digests, _array_prefixes(tree))
        del group.attrs[INCOMPLETE_MARKER]
        zarr.consolidate_metadata(store)


def _end_pending_activities(group: zarr.Group, activity_ids: list[str]) -> None:
    """End the marked activities now that their arrays are computed and stored."""
    if activity_ids:
        written = dt.datetime.now(dt.UTC)
        group.attrs["fusion"] = with_written_times(group.attrs["fusion"], activity_ids, written)


def _array_prefixes(tree: xr.DataTree) -> list[str]:
    """``particle/phase``, ``particle/x``, ...: where each variable of the tree is stored."""
    return [
        f"{node.path.strip('/')}/{name}".lstrip("/")
        for node in tree.subtree
        for name in node.to_dataset(inherit=False).variables
    ]


def _write_manifests(
    objects: Objects, recorded: dict[str, ChunkDigest | None], array_prefixes: list[str]
) -> None:
    """One manifest per array from what the store lists, with the digests recorded while
    writing; an object the recording missed (or whose size differs) is read and hashed."""
    digests: dict[str, ChunkDigest] = {}
    for key, size in objects.list().items():
        known = recorded.get(key)
        if known is not None and size in (None, known.size):
            digests[key] = known
        elif (data := objects.read(key)) is not None:
            digests[key] = digest(data)
    for prefix, manifest in manifests_for(digests, array_prefixes).items():
        objects.write(manifest_key(prefix), encode_manifest(manifest))


def _variable_length_strings(tree: xr.DataTree) -> xr.DataTree:
    """Store fixed-width numpy strings (``<U2``) as Zarr's variable-length ``string`` type,
    which other Zarr implementations read, instead of zarr-python's own fixed-width UTF-32."""
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        fixed = [name for name, var in ds.variables.items() if var.dtype.kind == "U"]
        if fixed:
            node.dataset = ds.assign_coords(
                {n: ds[n].astype(object) for n in fixed if n in ds.coords}
            ).assign({n: ds[n].astype(object) for n in fixed if n in ds.data_vars})
    return tree


def _encoding(tree: xr.DataTree) -> dict[str, dict[str, dict[str, Any]]]:
    """Chunk in-memory channels into blocks of about CHUNK_BYTES; keep dask chunks as they are."""
    encoding: dict[str, dict[str, dict[str, Any]]] = {}
    for node in tree.subtree:
        per_node: dict[str, dict[str, Any]] = {}
        for name, variable in node.to_dataset(inherit=False).variables.items():
            if variable.chunks is None and variable.ndim >= 3:
                per_node[str(name)] = {"chunks": chunk_shape(variable.shape, variable.dtype)}
        if per_node:
            encoding[node.path] = per_node
    return encoding


def chunk_shape(shape: tuple[int, ...], dtype: np.dtype, target: int = CHUNK_BYTES) -> tuple:
    """Halve the longest of the first three axes until a chunk holds at most ``target`` bytes.

    Trailing channel axes (quat, element, energy_loss) are kept whole.

    >>> chunk_shape((512, 512, 512), np.dtype("uint8"))
    (128, 128, 256)
    """
    chunk = list(shape)
    itemsize = np.dtype(dtype).itemsize
    while int(np.prod(chunk)) * itemsize > target and max(chunk[:3]) > 1:
        axis = int(np.argmax(chunk[:3]))
        chunk[axis] = (chunk[axis] + 1) // 2
    return tuple(chunk)
