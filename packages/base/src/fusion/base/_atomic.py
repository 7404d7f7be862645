"""Files that appear whole or not at all.

A writer writes a hidden sibling of the destination (``.NAME.<id>.partial``, in the same folder
so that the final move is a rename on one file system), then `os.replace`\\s it into place; on
any error the sibling is removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ._ids import new_id

__all__ = ["atomic_path", "atomic_write", "partial_sibling", "remove_path"]


def partial_sibling(dest: str | os.PathLike[str], suffix: str = "partial") -> Path:
    """A fresh hidden sibling of ``dest``: ``.NAME.<12 hex digits>.<suffix>``.

    >>> p = partial_sibling("/data/scan.zarr")
    >>> p.parent.as_posix(), p.name.startswith(".scan.zarr."), p.suffix
    ('/data', True, '.partial')
    """
    dest = Path(dest)
    return dest.with_name(f".{dest.name}.{new_id()}.{suffix}")


def remove_path(path: str | os.PathLike[str]) -> None:
    """Remove a file or a folder tree if it exists; never raises for a missing path."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str], suffix: str = "partial") -> Iterator[Path]:
    """Yield a partial sibling of ``dest`` to write; move it onto ``dest`` when the block ends.

    The caller writes a file (or a folder, replacing no existing folder) at the yielded path.
    On an error inside the block the partial is removed and the error propagates.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(dest) as tmp:
    ...     _ = tmp.write_text("done")
    >>> dest.read_text(), [p.name for p in dest.parent.iterdir()]
    ('done', ['out.txt'])
    """
    partial = partial_sibling(dest, suffix)
    try:
        yield partial
        os.replace(partial, dest)
    except BaseException:
        remove_path(partial)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a partial sibling, fsync, `os.replace`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "card.json"
    >>> atomic_write(dest, b"{}")
    >>> dest.read_bytes()
    b'{}'
    """
    with atomic_path(path) as partial, open(partial, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
