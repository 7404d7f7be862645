"""The user story: ``pull("model:slicegan-nmc")`` → the path of a verified local file.

resolve ``kind:name[@version]`` in the registry → the cache has it stamped verified (return),
or has it unstamped (hash once), or not (download to a temporary file under a per-blob lock,
hash while streaming, ``os.replace`` into place) → path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fusion.base import Progress

from ._base import Artifact
from ._cache import Cache
from ._config import offline_from_env
from ._load import load_registry
from ._registry import LoadedRegistry, Resolved
from ._resolve import Ref, suffix_of

__all__ = ["fetch", "pull"]


def pull(
    ref: str | Ref,
    *,
    registry: str | os.PathLike[str] | LoadedRegistry | None = None,
    cache: str | os.PathLike[str] | Cache | None = None,
    offline: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download (or find in the cache) the artifact of ``ref`` and return its verified path.

    Parameters
    ----------
    ref
        ``KIND:NAME[@VERSION]``, e.g. ``model:slicegan-nmc`` or ``dataset:nmc-demo@0.1.0``.
    registry
        Path or URL of the registry file, or a loaded registry; default ``FUSION_REGISTRY``,
        else the checkout's ``registry.yaml``.
    cache
        Cache folder or object; default ``FUSION_CACHE``, else the user cache folder.
    offline
        Touch no network (default ``FUSION_OFFLINE``): serve from the cache or raise
        ``OfflineError``.
    storage_options
        fsspec options for URLs, e.g. ``{"endpoint_url": ..., "anon": True}`` for S3.
    progress
        Called with (bytes done, bytes total) while downloading.

    Returns
    -------
    Path
        ``<cache>/blobs/<sha256><suffix>``: a read-only file whose SHA-256 has been checked.
    """
    offline = offline_from_env() if offline is None else offline
    cache = cache if isinstance(cache, Cache) else Cache(cache)
    loaded = (
        registry
        if isinstance(registry, LoadedRegistry)
        else load_registry(registry, cache=cache, offline=offline, storage_options=storage_options)
    )
    resolved = loaded.resolve(ref)
    return fetch(
        resolved, cache=cache, offline=offline, storage_options=storage_options, progress=progress
    )


def fetch(
    resolved: Resolved,
    artifact: Artifact | None = None,
    *,
    cache: Cache,
    offline: bool = False,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Path:
    """The verified blob of a resolved entry's artifact, or of another file of the entry
    (``artifact``, e.g. its test tensors)."""
    if artifact is None:
        artifact, url, suffix, what = (
            resolved.artifact,
            resolved.url,
            resolved.suffix,
            str(resolved.ref),
        )
    else:
        url, suffix = resolved.locate(artifact), suffix_of(artifact.url)
        what = f"{resolved.ref} ({artifact.url})"
    return cache.fetch(
        url,
        sha256=artifact.sha256,
        size=artifact.size,
        suffix=suffix,
        what=what,
        offline=offline,
        storage_options=storage_options,
        progress=progress,
    )
