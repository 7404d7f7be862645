"""The content-addressed cache: verified blobs named by their SHA-256.

Layout under the cache root (``FUSION_CACHE``, else the user cache folder)::

    blobs/<sha256><suffix>        verified artifacts, read-only (suffix from the URL: .zip, .onnx)
    stamps/<blob name>.json       {sha256, size, mtime_ns}: a blob whose stat matches is not re-hashed
    tmp/<sha256>.<host>.<pid>.<random>.part   downloads in progress (one per process)
    locks/<sha256>.lock           one lock per blob, so that concurrent pulls download once
    registries/<sha256 of URL>.yaml   the last copy of each registry read from a URL (offline)
    CACHEDIR.TAG                  tells backup tools to skip the folder

A download is written to its own temporary file, hashed while streaming and moved into place
with ``os.replace`` only when size and hash match; the temporary file is deleted on any error,
and one left by a killed process is deleted by the next pull of the same blob. The lock only
saves bandwidth: if it cannot be had (a file system where locks do not work, a holder that
hangs), the pull downloads on its own and the rename keeps the cache correct.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fusion.base import Progress, hash_bytes, hash_file, option_error

from . import _errors as errors
from ._config import default_cache_dir
from ._hashing import label
from ._transfer import download, local_path

__all__ = ["BLOB_NAME", "BlobStatus", "Cache", "PruneResult"]

BLOB_NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})(?P<suffix>\.[A-Za-z0-9]{1,8})?$")
_TEMP_NAME = re.compile(
    r"^(?P<sha>[0-9a-f]{64})\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]+\.part$"
)
STALE_TEMP_S = 24 * 3600.0
"""A temporary file older than this is abandoned whoever made it (prune deletes it)."""
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file marks the fusion download cache (fusion.registry); see https://bford.info/cachedir/\n"
)


@dataclass(frozen=True)
class BlobStatus:
    """What ``Cache.verify`` found for one blob: ``ok``, ``corrupted`` or ``unsafe`` (a link)."""

    path: Path
    sha256: str
    status: Literal["ok", "corrupted", "unsafe"]
    got: str | None = None
    """The digest found, for a corrupted blob."""


@dataclass(frozen=True)
class PruneResult:
    """What ``Cache.prune`` removed (or would remove, with ``dry_run``)."""

    removed: list[Path]
    freed_bytes: int


class Cache:
    """A cache folder. Creating the object touches nothing; folders appear on first write.

    Parameters
    ----------
    root
        The cache folder; default ``FUSION_CACHE``, else the user cache folder.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.blobs = self.root / "blobs"
        self.stamps = self.root / "stamps"
        self.tmp = self.root / "tmp"
        self.locks = self.root / "locks"
        self.registries = self.root / "registries"

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    def blob_path(self, sha256: str, suffix: str = "") -> Path:
        """Where the blob with this digest lives (whether or not it is there)."""
        name = sha256 + suffix
        if not BLOB_NAME.match(name):
            raise errors.UnsafePathError(f"not a blob name: {name!r} (sha256 hex + .suffix)")
        return self.blobs / name

    def cached(self, sha256: str, suffix: str = "") -> Path | None:
        """The blob if it is present and stamped verified (no hashing), else None."""
        blob = self.blob_path(sha256, suffix)
        return blob if self._is_verified(blob, sha256) else None

    def fetch(
        self,
        url: str,
        *,
        sha256: str | None,
        size: int | None = None,
        suffix: str = "",
        what: str = "artifact",
        offline: bool = False,
        storage_options: dict[str, Any] | None = None,
        progress: Progress | None = None,
        lock_timeout: float = 600.0,
    ) -> Path:
        """The verified blob of ``url``: from the cache if stamped, else downloaded.

        Parameters
        ----------
        url
            Local path or fsspec URL of the artifact.
        sha256, size
            What the bytes must be. ``sha256`` may be None only for a local file (it is hashed).
        suffix
            File name suffix of the blob (``.zip``), so that readers that look at it work.
        what
            How messages name the artifact, e.g. ``dataset:nmc-demo@0.1.0``.
        offline
            Touch no network: a blob that is not cached raises ``OfflineError``.
        lock_timeout
            Seconds to wait for another process downloading the same blob; then download
            anyway.
        """
        if sha256 is None:
            path = local_path(url)
            if path is None:
                raise errors.RegistryFileError(f"{what}: {url} has no sha256 (refused)")
            sha256 = hash_file(path)
        self._prepare()
        blob = self.blob_path(sha256, suffix)
        if self._is_verified(blob, sha256):
            return _size_checked(blob, size, what)  # the warm path: one stat, no hashing
        with self._lock(sha256, lock_timeout):
            if self._is_verified(blob, sha256) or self._rehash_unstamped(blob, sha256):
                return _size_checked(blob, size, what)  # another process downloaded it meanwhile
            if offline and local_path(url) is None:
                raise option_error(
                    errors.OfflineError,
                    f"{what} ({label(sha256)}) is not in the cache {self.root} and offline mode "
                    "is on ({offline} or FUSION_OFFLINE=1): pull it once online, or turn offline "
                    "mode off",
                    offline="True",
                )
            self._remove_stale_temps(sha256)
            tmp = self._new_temp(sha256)
            try:
                download(
                    url,
                    str(tmp),
                    sha256=sha256,
                    size=size,
                    what=what,
                    storage_options=storage_options,
                    progress=progress,
                )
                os.chmod(tmp, 0o444)
                os.replace(tmp, blob)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            self._write_stamp(blob, sha256)
        return blob

    def verify(self, progress: Progress | None = None, delete: bool = False) -> list[BlobStatus]:
        """Re-hash every blob. A corrupted one loses its stamp (the next pull replaces it) and,
        with ``delete``, is deleted. Links are reported ``unsafe`` and never followed."""
        results = []
        for blob, sha in self._blobs():
            if blob.is_symlink() or not blob.is_file():
                results.append(BlobStatus(blob, sha, "unsafe"))
                continue
            got = hash_file(blob, progress)
            if got == sha:
                self._write_stamp(blob, sha)
                results.append(BlobStatus(blob, sha, "ok"))
                continue
            self._stamp_path(blob).unlink(missing_ok=True)
            if delete:
                blob.unlink()
            results.append(BlobStatus(blob, sha, "corrupted", got))
        return results

    def prune(self, keep: set[str], dry_run: bool = False) -> PruneResult:
        """Remove blobs whose digest is not in ``keep``, orphan stamps, and abandoned
        temporary files (of dead processes on this host, or older than a day)."""
        doomed = [blob for blob, sha in self._blobs() if sha not in keep]
        doomed += [p for p in self._stamps() if not (self.blobs / p.name[: -len(".json")]).exists()]
        doomed += [p for p in self._sorted(self.tmp) if self._is_abandoned(p, STALE_TEMP_S)]
        doomed += [self._stamp_path(b) for b in doomed if b.parent == self.blobs]
        removed, freed = [], 0
        for path in dict.fromkeys(doomed):  # unique, in order
            with contextlib.suppress(FileNotFoundError):
                size = path.lstat().st_size
                if not dry_run:
                    path.unlink()
                removed.append(path)
                freed += size
        return PruneResult(removed, freed)

    def store_registry(self, url: str, data: bytes) -> Path:
        """Keep the last copy of a registry read from ``url``, for offline use."""
        self._prepare()
        path = self._registry_copy(url)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def cached_registry(self, url: str) -> bytes | None:
        """The last copy of the registry read from ``url``, or None."""
        try:
            return self._registry_copy(url).read_bytes()
        except FileNotFoundError:
            return None

    # -- internals ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        for folder in (self.blobs, self.stamps, self.tmp, self.locks, self.registries):
            folder.mkdir(parents=True, exist_ok=True)
            real, expected = (
                os.path.realpath(folder),
                os.path.join(os.path.realpath(self.root), folder.name),
            )
            if real != expected:
                raise errors.UnsafePathError(
                    f"{folder} is a link to {real}, outside the cache {self.root}: refused"
                )
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            with contextlib.suppress(OSError):
                tag.write_text(CACHEDIR_TAG, encoding="utf-8")

    def _is_verified(self, blob: Path, sha256: str) -> bool:
        try:
            st = os.lstat(blob)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(st.st_mode):
            raise errors.UnsafePathError(
                f"{blob} is a link or not a regular file: refused (blobs must be plain files "
                "inside the cache); delete it and pull again"
            )
        try:
            stamp = json.loads(self._stamp_path(blob).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return stamp == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def _rehash_unstamped(self, blob: Path, sha256: str) -> bool:
        """A blob present without a valid stamp is hashed once: stamped if good, else deleted.
        Called under the blob's lock, so that it cannot delete a good blob another pull has
        just moved into place."""
        if not blob.exists():
            return False
        if hash_file(blob) == sha256:
            self._write_stamp(blob, sha256)
            return True
        self._stamp_path(blob).unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        return False

    def _write_stamp(self, blob: Path, sha256: str) -> None:
        st = os.lstat(blob)
        stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        path = self._stamp_path(blob)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            tmp.write_text(json.dumps(stamp), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _stamp_path(self, blob: Path) -> Path:
        return self.stamps / f"{blob.name}.json"

    def _registry_copy(self, url: str) -> Path:
        return self.registries / f"{hash_bytes(url.encode())[:32]}.yaml"

    @contextlib.contextmanager
    def _lock(self, sha256: str, timeout: float) -> Iterator[None]:
        from filelock import FileLock, Timeout

        lock = FileLock(self.locks / f"{sha256}.lock")
        try:
            lock.acquire(timeout=timeout)
            acquired = True
        except Timeout:
            acquired = False  # correctness never depends on the lock; this costs bandwidth only
        try:
            yield
        finally:
            if acquired:
                lock.release()

    def _new_temp(self, sha256: str) -> Path:
        return self.tmp / f"{sha256}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"

    def _remove_stale_temps(self, sha256: str) -> None:
        for path in self._sorted(self.tmp):
            if path.name.startswith(sha256) and self._is_abandoned(path, STALE_TEMP_S):
                path.unlink(missing_ok=True)

    def _is_abandoned(self, path: Path, max_age_s: float) -> bool:
        match = _TEMP_NAME.match(path.name)
        if match is None:
            return False
        if match["host"] == _HOST and not _alive(int(match["pid"])):
            return True
        try:
            return time.time() - path.stat().st_mtime > max_age_s
        except FileNotFoundError:
            return False

    def _blobs(self) -> Iterator[tuple[Path, str]]:
        for path in self._sorted(self.blobs):
            match = BLOB_NAME.match(path.name)
            if match:
                yield path, match["sha"]

    def _stamps(self) -> list[Path]:
        return [p for p in self._sorted(self.stamps) if p.name.endswith(".json")]

    @staticmethod
    def _sorted(folder: Path) -> list[Path]:
        try:
            return sorted(folder.iterdir())
        except FileNotFoundError:
            return []


def _size_checked(blob: Path, size: int | None, what: str) -> Path:
    """A cached blob has the right digest; the registry's size must agree with it too."""
    got = blob.stat().st_size
    if size is not None and got != size:
        raise errors.SizeMismatchError(
            f"{what}: size mismatch: the registry says {size} bytes, the file with its sha256 "
            f"has {got}; the registry entry is wrong",
            expected=size,
            got=got,
        )
    return blob


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"
