"""The registry file, format ``fusion-registry/1``: kinds → names → versions → artifact + card.

The card is inline; ``fusion-registry/2`` (:mod:`._index`) keeps it in a file of its own.
``Registry`` is also the inline form of a ``/2`` index once its cards are read.

.. code-block:: yaml

    registry: fusion-registry/1
    datasets:
      nmc-demo:
        latest: 0.1.0
        versions:
          0.1.0:
            url: datasets/nmc-demo-0.1.0.zip   # relative to this file, or any fsspec URL
            sha256: dbae09ba...
            size: 595649
            card: {description: ..., format: fusion/0.1, license: CC0-1.0}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ._base import Artifact, Name, RegistryModel, Version
from ._card import DatasetCard, ModelCard

__all__ = [
    "FORMAT",
    "KINDS",
    "DatasetEntry",
    "DatasetVersion",
    "ModelEntry",
    "ModelVersion",
    "Registry",
]

FORMAT = "fusion-registry/1"
KINDS = {"model": "models", "dataset": "datasets"}
"""Reference kind → section of the registry file."""


class ModelVersion(Artifact):
    """One version of a model: a self-contained ONNX file (weights embedded) and its card."""

    card: ModelCard


class DatasetVersion(Artifact):
    """One version of a dataset: a zipped Zarr store and its card."""

    card: DatasetCard


class _Entry(RegistryModel):
    latest: Version | None = None
    """The version that ``NAME`` without ``@VERSION`` means; default: the highest release."""

    @model_validator(mode="after")
    def _latest_exists(self) -> _Entry:
        versions = self.versions  # type: ignore[attr-defined]
        if self.latest is not None and self.latest not in versions:
            raise PydanticCustomError(
                "registry_latest",
                "latest is '{latest}', which is not one of the versions {versions}",
                {"latest": self.latest, "versions": sorted(versions)},
            )
        return self


class ModelEntry(_Entry):
    """A model name: its versions."""

    versions: dict[Version, ModelVersion] = Field(min_length=1)


class DatasetEntry(_Entry):
    """A dataset name: its versions."""

    versions: dict[Version, DatasetVersion] = Field(min_length=1)


class Registry(RegistryModel):
    """A registry file. Names are ``[a-z0-9-]+``, versions semantic (``MAJOR.MINOR.PATCH``)."""

    registry: Literal["fusion-registry/1"]
    """The format and its version; readers refuse formats they do not know."""
    models: dict[Name, ModelEntry] = Field(default_factory=dict)
    datasets: dict[Name, DatasetEntry] = Field(default_factory=dict)

    def section(self, kind: str) -> dict[str, ModelEntry] | dict[str, DatasetEntry]:
        """The entries of ``kind`` (``model`` or ``dataset``)."""
        return self.models if kind == "model" else self.datasets
