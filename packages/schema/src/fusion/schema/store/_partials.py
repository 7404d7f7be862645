"""The hidden folder a local write works in (``.NAME.<id>.partial``, beside ``NAME``), and the
removal of those that stopped writes left behind.

The rule: a write holds an exclusive ``flock`` on its partial folder from the moment it is made
until the write is over (`claimed_partial`). The kernel drops that lock when the process ends,
however it ends (SIGKILL included). So a partial of the same target name that can be locked
now belongs to no running write, and the next write to that target removes it
(`remove_stale_partials`); one still locked is being written and is left alone. Only siblings
named for this very target (``.NAME.<hex id>.partial`` or ``.staging``) are considered. Where
``flock`` does not exist (Windows), nothing is removed: the stale partials are named in a
warning instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from fusion.base import partial_sibling, remove_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["claimed_partial", "remove_stale_partials"]


@contextlib.contextmanager
def claimed_partial(dest: Path) -> Iterator[Path]:
    """Make a fresh partial folder beside ``dest`` and hold its lock while the block runs.

    The caller moves it into place or removes it; the lock ends with the block (or the
    process).
    """
    partial = partial_sibling(dest)
    partial.mkdir(parents=True)
    fd = os.open(partial, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield partial
    finally:
        os.close(fd)


def remove_stale_partials(dest: Path) -> list[Path]:
    """Remove the partials of ``dest`` that no running write holds; return those removed."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.[0-9a-f]+\.(partial|staging)$")
    try:
        names = sorted(os.listdir(dest.parent))
    except OSError:
        return []
    found = [dest.parent / name for name in names if pattern.match(name)]
    if fcntl is None:  # pragma: no cover - Windows
        if found:
            warnings.warn(
                f"stopped writes left {', '.join(map(str, found))}: remove them when no write "
                f"to {dest} is running",
                stacklevel=3,
            )
        return []
    stale = [path for path in found if _unlocked(path)]
    for path in stale:
        remove_path(path)
    return stale


def _unlocked(path: Path) -> bool:
    """True if nobody holds the lock of ``path`` (it can be taken now, and is let go)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
