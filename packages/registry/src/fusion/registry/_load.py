"""Reading a registry file: safe YAML only, validated, and kept for offline use.

YAML is read with PyYAML's safe loader (no ``!!python/...`` tags, so no code runs), with
two more refusals: duplicate keys (YAML would keep the last one silently) and aliases
(``*name``: a registry needs none, and they let a small file expand without bound).
A registry read from a URL is copied into the cache, so that offline mode can use it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import _lazy_errors as errors
from ._cache import Cache
from ._config import default_registry, offline_from_env
from ._models import FORMAT, KINDS, DatasetVersion, ModelVersion, Registry
from ._resolve import Ref, Resolved, resolve
from ._transfer import local_path, read_bytes

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


@dataclass(frozen=True)
class LoadedRegistry:
    """A validated registry and where it was read from (absolute path or URL)."""

    registry: Registry
    location: str

    def resolve(self, ref: str | Ref) -> Resolved:
        """See :func:`fusion.registry.resolve`."""
        return resolve(self, ref)

    def entries(self) -> Iterator[tuple[Ref, ModelVersion | DatasetVersion]]:
        """Every (reference with version, entry), models first, sorted by name."""
        for kind in KINDS:
            section = self.registry.section(kind)
            for name in sorted(section):
                for version, item in section[name].versions.items():
                    yield Ref(kind, name, version), item  # type: ignore[arg-type]

    def digests(self) -> set[str]:
        """Every SHA-256 the registry pins: artifacts and test tensors."""
        found = {item.sha256 for _, item in self.entries()}
        found |= {
            i.card.test_tensors.sha256 for _, i in self.entries() if isinstance(i, ModelVersion)
        }
        return {d for d in found if d is not None}


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
        Where a registry read from a URL is kept for offline use.
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
        return LoadedRegistry(parse_registry(data, path), path)
    cache = cache if cache is not None else Cache()
    if offline:
        data = cache.cached_registry(location)
        if data is None:
            raise errors.OfflineError(
                f"the registry {location} was never read online, so it is not in the cache "
                f"{cache.root}, and offline mode is on: read it once online"
            )
        return LoadedRegistry(parse_registry(data, location), location)
    data = read_bytes(location, storage_options)
    registry = parse_registry(data, location)
    cache.store_registry(location, data)
    return LoadedRegistry(registry, location)


def parse_registry(data: bytes | str, where: str = "<registry>") -> Registry:
    """Validate the text of a registry file; errors name the file and the entry."""
    document = safe_yaml(data, where)
    if not isinstance(document, dict) or document.get("registry") != FORMAT:
        found = document.get("registry") if isinstance(document, dict) else type(document).__name__
        raise errors.RegistryFileError(
            f"{where}: not a {FORMAT} file: expected `registry: {FORMAT}` at the top, got {found!r}"
        )
    try:
        return validate_document(document)
    except ValidationError as err:
        raise errors.RegistryFileError(format_validation_error(err, where)) from None


def validate_document(document: Any) -> Registry:
    """Validate parsed YAML strictly, as the JSON it could be written as (no "3" for 3).

    Raises pydantic's ``ValidationError``.
    """
    return Registry.model_validate_json(json.dumps(document, default=str), strict=True)


def safe_yaml(data: bytes | str, where: str) -> Any:
    """Parse YAML with the safe loader, refusing duplicate keys and aliases."""
    try:
        return yaml.load(data, Loader=_StrictSafeLoader)
    except yaml.YAMLError as err:
        raise errors.RegistryFileError(
            f"{where}: refused as YAML (safe loading only: no tags such as !!python/..., "
            f"no aliases, no duplicate keys): {' '.join(str(err).split())}"
        ) from None


class _StrictSafeLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a registry file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


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


def format_validation_error(err: ValidationError, where: str, limit: int = 3) -> str:
    """The first problems (at most ``limit``), each naming the entry, the field and the value."""
    problems = err.errors(include_url=False)
    lines = [": ".join(describe_problem(p)) for p in problems[:limit]]
    tail = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"{where}: invalid {FORMAT} file: " + "; ".join(lines) + tail
