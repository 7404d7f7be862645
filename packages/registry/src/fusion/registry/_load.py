"""Reading a registry file: safe YAML only (see :mod:`._yaml`), validated, kept for offline use.

Both formats are read: ``fusion-registry/2`` (an index; cards in their own files, read when
needed) and ``fusion-registry/1`` (cards inline); the ``registry:`` key picks the model.
A registry read from a URL is copied into the cache, so that offline mode can use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import _errors as errors
from ._cache import Cache
from ._config import default_registry, offline_from_env
from ._index import FORMAT_V2, FORMATS, RegistryIndex
from ._models import FORMAT, KINDS, Registry
from ._registry import LoadedRegistry
from ._transfer import local_path, read_bytes
from ._yaml import safe_yaml, validate_strict

__all__ = [
    "LoadedRegistry",
    "describe_problem",
    "entry_label",
    "format_validation_error",
    "load_registry",
    "parse_registry",
    "safe_yaml",
    "validate_document",
]


def load_registry(
    location: str | os.PathLike[str] | None = None,
    *,
    cache: Cache | None = None,
    offline: bool | None = None,
    storage_options: dict[str, Any] | None = None,
) -> LoadedRegistry:
    """Read and validate a registry file.

    Parameters
    ----------
    location
        Path or fsspec URL; default ``FUSION_REGISTRY``, else the checkout's ``registry.yaml``.
    cache
        Where a registry read from a URL, and the card files of an index, are kept for
        offline use.
    offline
        Read a URL's registry from the cache only; default ``FUSION_OFFLINE``.
    """
    offline = offline_from_env() if offline is None else offline
    location = os.fspath(location) if location is not None else default_registry()
    path = local_path(location)
    if path is not None:
        path = os.path.abspath(path)
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise errors.TransferError(f"cannot read the registry {path}: {err.strerror}") from err
        return LoadedRegistry(parse_registry(data, path), path, cache, offline, storage_options)
    cache = cache if cache is not None else Cache()
    if offline:
        data = cache.cached_registry(location)
        if data is None:
            raise errors.OfflineError(
                f"the registry {location} was never read online, so it is not in the cache "
                f"{cache.root}, and offline mode is on: read it once online"
            )
        return LoadedRegistry(
            parse_registry(data, location), location, cache, offline, storage_options
        )
    data = read_bytes(location, storage_options)
    registry = parse_registry(data, location)
    cache.store_registry(location, data)
    return LoadedRegistry(registry, location, cache, offline, storage_options)


def parse_registry(data: bytes | str, where: str = "<registry>") -> Registry | RegistryIndex:
    """Validate the text of a registry file; errors name the file and the entry.

    Returns a ``RegistryIndex`` for ``fusion-registry/2``, a ``Registry`` for ``/1``.
    """
    document = safe_yaml(data, where)
    found = document.get("registry") if isinstance(document, dict) else type(document).__name__
    if not isinstance(document, dict) or not isinstance(found, str) or found not in FORMATS:
        raise errors.RegistryFileError(
            f"{where}: not a {FORMAT} file nor a {FORMAT_V2} file: expected "
            f"`registry: {FORMAT_V2}` at the top, got {found!r}"
        )
    try:
        return validate_document(document)
    except ValidationError as err:
        raise errors.RegistryFileError(
            format_validation_error(err, where, fmt=document["registry"])
        ) from None


def validate_document(document: Any) -> Registry | RegistryIndex:
    """Validate parsed YAML strictly, as the JSON it could be written as (no "3" for 3), with
    the model of the format its ``registry:`` names (``fusion-registry/1`` if none).

    Raises pydantic's ``ValidationError``.
    """
    fmt = document.get("registry") if isinstance(document, dict) else None
    model = FORMATS.get(fmt, Registry) if isinstance(fmt, str) else Registry
    return validate_strict(model, document)  # type: ignore[arg-type]


def entry_label(loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Split an error location into the entry it is in and the rest.

    >>> entry_label(("models", "tiny", "versions", "1.0.0", "card", "task"))
    ('model:tiny@1.0.0', ('card', 'task'))
    >>> entry_label(("registry",))
    ('registry', ('registry',))
    """
    kinds = {section: kind for kind, section in KINDS.items()}
    if len(loc) >= 2 and loc[0] in kinds:
        kind, name = kinds[loc[0]], loc[1]
        if len(loc) >= 4 and loc[2] == "versions" and loc[3] != "[key]":
            return f"{kind}:{name}@{loc[3]}", loc[4:]
        return f"{kind}:{name}", loc[2:]
    return "registry", loc


def describe_problem(problem: Mapping[str, Any]) -> tuple[str, str]:
    """(entry, "field: message, got value") for one pydantic error of a registry document."""
    entry, rest = entry_label(tuple(problem["loc"]))
    field = ".".join(str(p) for p in rest if p != "[key]")
    value = problem.get("input")
    message = problem["msg"].removeprefix("Value error, ")
    shown = isinstance(value, str | int | float) and value != "" and str(value) not in message
    return entry, (f"{field}: " if field else "") + message + (f", got {value!r}" if shown else "")


def format_validation_error(
    err: ValidationError, where: str, limit: int = 3, fmt: str = FORMAT
) -> str:
    """The first problems (at most ``limit``), each naming the entry, the field and the value."""
    problems = err.errors(include_url=False)
    lines = [": ".join(describe_problem(p)) for p in problems[:limit]]
    tail = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"{where}: invalid {fmt} file: " + "; ".join(lines) + tail
