"""The one way a model reference becomes something to run: `resolve_model`, then `open_model`.

`resolve_model` is the only place ``model:name[@version]`` is resolved in the registry (the
recipe runner's step keys use it alone: no download). `open_model` pulls the file into the
cache (its sha256 checked as it arrives) and returns what a runner needs: the resolved
reference, the sha256 and card, the picklable `ModelFile` that any process opens (checking the
sha256 again) and its session on demand.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fusion.schema import active_client

from ._device import Device, Session, resolve_device
from ._sessions import ModelFile

if TYPE_CHECKING:
    from fusion.registry import LoadedRegistry, ModelCard

__all__ = ["OpenedModel", "ResolvedModel", "open_model", "resolve_model"]


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference as the registry resolves it now (nothing downloaded)."""

    ref: str
    """``model:name@version``, the version resolved."""
    sha256: str
    """SHA-256 of its ONNX file, as the registry pins it."""
    card: ModelCard
    registry: LoadedRegistry = field(repr=False, compare=False)
    """The registry it was resolved in (for the pull)."""


@dataclass(frozen=True)
class OpenedModel:
    """A resolved model whose file is in the cache, ready to run in this or any process."""

    ref: str
    sha256: str
    card: ModelCard
    file: ModelFile
    """Picklable: what a dask task carries to open the model where it runs."""

    def session(self, verified: bytes | None = None) -> Session:
        """This process's session (opened, and the file's sha256 checked, on first use)."""
        return self.file.session(verified)


def resolve_model(
    ref: str,
    *,
    registry: str | os.PathLike[str] | LoadedRegistry | None = None,
    offline: bool | None = None,
) -> ResolvedModel:
    """Resolve ``model:name[@version]`` in the registry.

    Parameters
    ----------
    ref
        ``model:name[@version]``; the latest version when none is given.
    registry
        A registry read already (`fusion.registry.load_registry`), or its path or URL
        (default ``FUSION_REGISTRY``, else the checkout's).
    offline
        As for ``fusion.registry.load_registry``.

    Raises
    ------
    fusion.registry.NotInRegistryError, fusion.registry.BadReferenceError
        The reference is not in the registry, or not a model reference.
    """
    from fusion.registry import LoadedRegistry, load_registry, resolve

    loaded = (
        registry
        if isinstance(registry, LoadedRegistry)
        else load_registry(registry, offline=offline)
    )
    resolved = resolve(loaded, ref)
    entry: Any = resolved.entry
    return ResolvedModel(str(resolved.ref), entry.sha256, entry.card, loaded)


def open_model(
    ref: str | ResolvedModel,
    device: Device = "auto",
    *,
    registry: str | os.PathLike[str] | LoadedRegistry | None = None,
    cache: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    outputs: Sequence[str] | None = None,
) -> OpenedModel:
    """Resolve a model (unless ``ref`` is resolved already), pull it and describe how to run it.

    Parameters
    ----------
    ref
        ``model:name[@version]``, or a `ResolvedModel` (its registry is used).
    device
        ``auto`` (CUDA when usable, else CPU), ``cpu`` or ``cuda`` (an error if unusable).
    registry, offline
        As for `resolve_model`.
    cache
        The fusion cache folder (default ``FUSION_CACHE``, else the user cache).
    outputs
        Prune the graph to these outputs before a session opens (default: run it whole).

    Returns
    -------
    OpenedModel
        Sessions use one thread under a dask.distributed client (the worker's threads are the
        parallelism), every core otherwise.
    """
    from fusion.registry import pull

    model = (
        ref
        if isinstance(ref, ResolvedModel)
        else resolve_model(ref, registry=registry, offline=offline)
    )
    path = pull(model.ref, registry=model.registry, cache=cache, offline=offline)
    file = ModelFile(
        ref=model.ref,
        path=str(path),
        sha256=model.sha256,
        device=resolve_device(device),
        outputs=None if outputs is None else tuple(outputs),
        threads=1 if active_client() is not None else None,
    )
    return OpenedModel(model.ref, model.sha256, model.card, file)
