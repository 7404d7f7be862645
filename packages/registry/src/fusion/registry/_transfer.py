"""Moving bytes: stream a URL into a file while hashing it, with retries that back off.

Local paths and ``file://`` URLs are read with ``open``; everything else goes through fsspec
(imported only then), so ``https://``, ``s3://`` and any installed fsspec protocol work.
HTTP is read as one streamed GET (``block_size=0``), not as ranged requests.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

from fusion.base import CHUNK, Hasher, Progress

from . import _errors as errors
from ._base import url_protocol
from ._hashing import label

__all__ = ["download", "local_path", "open_url", "read_bytes"]

T = TypeVar("T")

_TRANSIENT_NAMES = {
    "ClientConnectionError",  # aiohttp: refused, reset, server disconnected
    "ClientPayloadError",  # aiohttp: truncated body
    "ServerTimeoutError",
    "EndpointConnectionError",  # botocore
    "ConnectionClosedError",
    "ReadTimeoutError",
}
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def local_path(url: str) -> str | None:
    """The file system path of a local URL (plain path or ``file://``), else None.

    >>> local_path("file:///tmp/a.zip"), local_path("/tmp/a.zip"), local_path("s3://b/a.zip")
    ('/tmp/a.zip', '/tmp/a.zip', None)
    """
    protocol = url_protocol(url)
    if protocol is None:
        return url
    if protocol in ("file", "local") and "::" not in url:
        return url.split("://", 1)[1]
    return None


@contextlib.contextmanager
def open_url(url: str, storage_options: dict[str, Any] | None = None) -> Iterator[IO[bytes]]:
    """Open a path or fsspec URL for streamed binary reading."""
    path = local_path(url)
    if path is not None:
        with open(path, "rb") as f:
            yield f
        return
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    kwargs = {"block_size": 0} if url_protocol(url) in ("http", "https") else {}
    with fs.open(fs_path, "rb", **kwargs) as f:
        yield f


def read_bytes(url: str, storage_options: dict[str, Any] | None = None, retries: int = 3) -> bytes:
    """The whole content of a small file (a registry), with retries."""
    return _with_retries(url, retries, 0.5, time.sleep, lambda: _read_all(url, storage_options))


def _read_all(url: str, storage_options: dict[str, Any] | None) -> bytes:
    with open_url(url, storage_options) as f:
        return f.read()


def download(
    url: str,
    out: str,
    *,
    sha256: str | None,
    size: int | None,
    what: str,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, int]:
    """Stream ``url`` into the file ``out`` and return (sha256 hex, size).

    Each attempt rewrites ``out`` from the start; transient errors (connection refused or
    reset, truncated body, 5xx) are retried after ``backoff · 2^attempt`` seconds (capped at
    10 s). The size is enforced while streaming and the digest at the end: a mismatch raises
    ``SizeMismatchError`` or ``HashMismatchError`` (not retried). The caller deletes ``out``
    on any failure.
    """

    def attempt() -> tuple[str, int]:
        return _stream(url, out, size, what, storage_options, progress)

    digest, got_size = _with_retries(url, retries, backoff, sleep, attempt)
    if size is not None and got_size != size:
        raise errors.SizeMismatchError(
            f"{what}: size mismatch for {url}: expected {size} bytes, got {got_size}; "
            "the download was deleted",
            expected=size,
            got=got_size,
        )
    if sha256 is not None and digest != sha256:
        raise errors.HashMismatchError(
            f"{what}: hash mismatch for {url}: expected {label(sha256)}, got {label(digest)}; "
            "the download was deleted. A changed artifact needs a new version in the registry",
            expected=label(sha256),
            got=label(digest),
        )
    return digest, got_size


def _stream(
    url: str,
    out: str,
    size: int | None,
    what: str,
    storage_options: dict[str, Any] | None,
    progress: Progress | None,
) -> tuple[str, int]:
    digest = Hasher()
    done = 0
    with open_url(url, storage_options) as src, open(out, "wb", buffering=0) as dst:
        total = size if size is not None else int(getattr(src, "size", None) or 0)
        while chunk := src.read(CHUNK):
            done += len(chunk)
            if size is not None and done > size:
                raise errors.SizeMismatchError(
                    f"{what}: size mismatch for {url}: expected {size} bytes, got more; "
                    "the download was stopped and deleted",
                    expected=size,
                    got=done,
                )
            digest.update(chunk)
            dst.write(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest(), done


def _with_retries(
    url: str, retries: int, backoff: float, sleep: Callable[[float], None], action: Callable[[], T]
) -> T:
    for attempt in range(retries):
        try:
            return action()
        except Exception as err:
            if isinstance(err, errors.IntegrityError):
                raise
            if _transient(err) and attempt < retries - 1:
                sleep(min(backoff * 2**attempt, 10.0))
                continue
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise errors.TransferError(
                f"cannot read {url}{tries}: {type(err).__name__}: {err}"
            ) from err
    raise AssertionError("retries must be at least 1")


def _transient(err: BaseException) -> bool:
    """Worth retrying: connection refused or reset, a timeout, a truncated body, a 5xx or 429.

    fsspec's HTTP reports any failure to reach a file as ``FileNotFoundError``; the cause it
    chains tells a refused connection (retried) from a 404 (not retried).
    """
    cause = err.__cause__
    if isinstance(err, _PERMANENT):
        return cause is not None and cause is not err and _transient(cause)
    if isinstance(err, OSError | TimeoutError):
        return True
    status = getattr(err, "status", None)
    if isinstance(status, int) and (status >= 500 or status == 429):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(err).__mro__)
