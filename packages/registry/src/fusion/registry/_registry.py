"""A loaded registry: its file (either format), where it was read from, and its cards on demand.

``LoadedRegistry.index`` is the file as written: a ``fusion-registry/2`` index whose versions
point to card files, or a ``fusion-registry/1`` file with the cards inline. Everything else
reads the same for both. Cards of an index are read lazily and once (see :mod:`._cards`):
``resolve`` and pulling an artifact read none, ``Resolved.entry`` reads its own, and
``registry`` / ``entries()`` read them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ._base import Artifact
from ._cache import Cache
from ._cards import read_card
from ._index import IndexedVersion, RegistryIndex
from ._models import FORMAT, KINDS, DatasetVersion, ModelVersion, Registry
from ._resolve import Ref, find_version, locate, parse_ref, suffix_of

__all__ = ["LoadedRegistry", "Resolved", "resolve"]


@dataclass(frozen=True)
class LoadedRegistry:
    """A validated registry file and where it was read from (absolute path or URL).

    ``cache``, ``offline`` and ``storage_options`` say how card files are read (default: the
    user cache, online).
    """

    index: Registry | RegistryIndex
    """The file as written (``fusion-registry/1`` or ``/2``)."""
    location: str
    cache: Cache | None = None
    offline: bool = False
    storage_options: dict[str, Any] | None = None
    _cards: dict[Ref, ModelVersion | DatasetVersion] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def format(self) -> str:
        """``fusion-registry/1`` (cards inline) or ``fusion-registry/2`` (cards in files)."""
        return self.index.registry

    @cached_property
    def registry(self) -> Registry:
        """The registry with every card in place (the ``fusion-registry/1`` form); for an
        index this reads every card file."""
        if isinstance(self.index, Registry):
            return self.index
        sections: dict[str, dict[str, Any]] = {section: {} for section in KINDS.values()}
        for ref in self.refs():
            entry = self.index.section(ref.kind)[ref.name]
            named = sections[KINDS[ref.kind]].setdefault(
                ref.name, {"latest": entry.latest, "versions": {}}
            )
            named["versions"][ref.version] = self.entry(ref)
        return Registry.model_validate({"registry": FORMAT, **sections})

    def resolve(self, ref: str | Ref) -> Resolved:
        """See :func:`fusion.registry.resolve`."""
        return resolve(self, ref)

    def refs(self) -> Iterator[Ref]:
        """Every reference with its version, models first, sorted by name; reads no card."""
        for kind in KINDS:
            section = self.index.section(kind)
            for name in sorted(section):
                for version in section[name].versions:
                    yield Ref(kind, name, version)  # type: ignore[arg-type]

    def entry(self, ref: str | Ref) -> ModelVersion | DatasetVersion:
        """One version with its card (read and verified on first use, then kept)."""
        ref, item = find_version(self.index, ref, self.location)
        if not isinstance(item, IndexedVersion):
            return item  # type: ignore[return-value]
        if ref not in self._cards:  # two threads may both read it: harmless, the cache is safe
            card = read_card(
                item.card,
                ref.kind,
                registry_location=self.location,
                what=str(ref),
                cache=self.cache if self.cache is not None else Cache(),
                offline=self.offline,
                storage_options=self.storage_options,
            )
            full = ModelVersion if ref.kind == "model" else DatasetVersion
            artifact = item.model_dump(exclude={"card"}, exclude_none=True)
            self._cards[ref] = full.model_validate({**artifact, "card": card})
        return self._cards[ref]

    def entries(self) -> Iterator[tuple[Ref, ModelVersion | DatasetVersion]]:
        """Every (reference with version, entry with its card), models first, sorted by name."""
        for ref in self.refs():
            yield ref, self.entry(ref)

    def digests(self) -> set[str]:
        """Every SHA-256 the registry pins: artifacts, card files and test tensors."""
        found = {item.sha256 for _, item in self.entries()}
        found |= {
            i.card.test_tensors.sha256 for _, i in self.entries() if isinstance(i, ModelVersion)
        }
        if isinstance(self.index, RegistryIndex):
            found |= {self._indexed(ref).card.sha256 for ref in self.refs()}
        return {d for d in found if d is not None}

    def _indexed(self, ref: Ref) -> IndexedVersion:
        return self.index.section(ref.kind)[ref.name].versions[ref.version]  # type: ignore[index,return-value]


@dataclass(frozen=True)
class Resolved:
    """One registry entry, its exact reference and where its file is."""

    ref: Ref
    """With the version filled in."""
    artifact: Artifact
    """The entry as the registry file writes it: the artifact's URL, sha256 and size."""
    url: str
    """Local path or absolute URL of the artifact."""
    suffix: str
    """File name suffix for the cached blob (``.zip``, ``.onnx``), or empty."""
    registry: LoadedRegistry

    @property
    def entry(self) -> ModelVersion | DatasetVersion:
        """The entry with its card (an index's card file is read and verified on first use)."""
        return self.registry.entry(self.ref)

    def locate(self, artifact: Artifact) -> str:
        """The absolute location of another file of this entry (e.g. its test tensors)."""
        return locate(self.registry.location, artifact.url)


def resolve(loaded: LoadedRegistry, ref: str | Ref) -> Resolved:
    """Find ``ref`` in a loaded registry; raise ``NotInRegistryError`` listing what exists.

    Reads no card file: ``Resolved.entry`` does, when asked.
    """
    exact, item = find_version(loaded.index, parse_ref(ref), loaded.location)
    return Resolved(
        ref=exact,
        artifact=item,
        url=locate(loaded.location, item.url),
        suffix=suffix_of(item.url),
        registry=loaded,
    )
