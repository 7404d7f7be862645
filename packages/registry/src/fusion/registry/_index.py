"""The registry file as an index, format ``fusion-registry/2``: cards live in their own files.

.. code-block:: yaml

    registry: fusion-registry/2
    models:
      slicegan-nmc:
        latest: 0.4.0
        versions:
          0.4.0:
            url: models/slicegan-nmc/0.4.0/slicegan-nmc.onnx   # relative to this file, or a URL
            sha256: 32a25f55...
            size: 1126211
            card:
              url: models/slicegan-nmc/0.4.0/card.yaml         # the full model card
              sha256: 5d1c...
              size: 14123

A card file holds what ``fusion-registry/1`` inlined under ``card:``; its URLs (the test
tensors) stay relative to the registry file. ``FORMATS`` maps each format to its model, and
``AnyRegistry`` is the union of both, discriminated on ``registry:``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt

from ._base import Artifact, Name, RegistryModel, Sha256, Version
from ._models import FORMAT, Registry, _Entry

__all__ = [
    "FORMATS",
    "FORMAT_V2",
    "AnyRegistry",
    "CardFile",
    "IndexEntry",
    "IndexedVersion",
    "RegistryIndex",
]

FORMAT_V2 = "fusion-registry/2"


class CardFile(Artifact):
    """Where a version's card file is, and what its bytes must be (always pinned)."""

    sha256: Sha256
    """SHA-256 of the card file, 64 lower-case hex digits; checked whenever the card is read."""
    size: NonNegativeInt
    """Size of the card file in bytes."""


class IndexedVersion(Artifact):
    """One version of a model or dataset: its artifact, and its card's file."""

    card: CardFile


class IndexEntry(_Entry):
    """A model or dataset name: its versions."""

    versions: dict[Version, IndexedVersion] = Field(min_length=1)


class RegistryIndex(RegistryModel):
    """A registry file as an index. Names are ``[a-z0-9-]+``, versions semantic."""

    registry: Literal["fusion-registry/2"]
    """The format and its version; readers refuse formats they do not know."""
    models: dict[Name, IndexEntry] = Field(default_factory=dict)
    datasets: dict[Name, IndexEntry] = Field(default_factory=dict)

    def section(self, kind: str) -> dict[str, IndexEntry]:
        """The entries of ``kind`` (``model`` or ``dataset``)."""
        return self.models if kind == "model" else self.datasets


FORMATS: dict[str, type[Registry] | type[RegistryIndex]] = {
    FORMAT: Registry,
    FORMAT_V2: RegistryIndex,
}
"""Each registry format this package reads, and its model."""

AnyRegistry = Annotated[Registry | RegistryIndex, Field(discriminator="registry")]
"""A registry file of either format (for the JSON Schema)."""
