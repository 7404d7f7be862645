"""Recipe inputs as local files with content digests.

The loaders read local files, so an input given as an fsspec URL (``s3://``, ``https://``, a
``zip://`` member, ...) is copied once into the work folder, under its content digest; a local
path is used where it is. Either way the input is identified by the sha256 of its bytes (of
every file, for a folder), which is what the step keys and the provenance use: renaming or
moving a file does not re-run anything, editing it does.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from fusion.base import hash_bytes, hash_file

from ._recipe import Input, RecipeError

__all__ = ["ResolvedInput", "resolve_input"]


@dataclass(frozen=True)
class ResolvedInput:
    name: str
    location: str  # as written in the recipe, resolved against the recipe's folder
    path: Path  # the local file or folder the loader reads
    sha256: str  # of the file, or of the sorted (relative name, sha256) list of a folder


def resolve_input(name: str, spec: Input, recipe_dir: Path, work: Path) -> ResolvedInput:
    """A recipe input as a local path with its digest; ``spec.sha256``, where given, is checked.

    Raises
    ------
    RecipeError
        The input does not exist or its digest is not the one the recipe names.
    """
    if "://" in spec.url:
        path = _fetch(name, spec, work)
        location = spec.url
    else:
        path = (recipe_dir / spec.url).resolve()
        location = str(path)
        if not path.exists():
            raise RecipeError(f"input {name!r}: {path}: no such file or folder")
    digest = digest_path(path)
    if spec.sha256 is not None and digest != spec.sha256:
        raise RecipeError(
            f"input {name!r}: {location} has sha256 {digest}, the recipe names {spec.sha256}"
        )
    return ResolvedInput(name, location, path, digest)


def digest_path(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's sorted ``name sha256`` lines."""
    if path.is_file():
        return hash_file(path)
    lines = [
        f"{p.relative_to(path).as_posix()} {hash_file(p)}\n"
        for p in sorted(path.rglob("*"))
        if p.is_file()
    ]
    if not lines:
        raise RecipeError(f"{path}: an empty folder is not an input")
    return hash_bytes("".join(lines).encode())


def _fetch(name: str, spec: Input, work: Path) -> Path:
    """Copy a URL (file or folder) into ``work/inputs``; reuse a complete earlier copy."""
    import fsspec
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(spec.url, **spec.storage_options)
    if not fs.exists(root):
        raise RecipeError(f"input {name!r}: {spec.url}: no such file or folder")
    key = hash_bytes(spec.url.encode())[:16]
    dest = work / "inputs" / key / Path(root.rstrip("/")).name
    done = dest.parent / ".complete"
    if done.exists():
        return dest
    partial = dest.parent.with_name(dest.parent.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    target = partial / dest.name
    if fs.isdir(root):
        fs.get(root.rstrip("/") + "/", str(target), recursive=True)
    else:
        with fsspec.open(spec.url, "rb", **spec.storage_options) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    (partial / ".complete").touch()
    shutil.rmtree(dest.parent, ignore_errors=True)
    partial.rename(dest.parent)
    return dest
