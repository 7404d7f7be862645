"""The root group's metadata: the ``fusion`` attribute of the store's root group."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from ._base import FusionModel, NonEmptyStr
from .provenance import Provenance

__all__ = ["SCHEMA_ID", "RootAttrs", "Sample"]

SCHEMA_ID = "fusion/0.1"
"""The value of ``schema`` in every store written to this version of the format."""


class Sample(FusionModel):
    """What was imaged."""

    material: NonEmptyStr
    """Active material or sample material, e.g. ``LiNi0.6Mn0.2Co0.2O2 (NMC622)``."""
    electrode: str | None = None
    """Which electrode and its state, e.g. ``cathode, calendered, pristine``."""
    cell: str | None = None
    """Cell the electrode came from, e.g. ``coin cell CR2032, 100 cycles``."""
    notes: str | None = None
    """Free text: preparation, storage, anything a reader needs to know."""


class RootAttrs(FusionModel):
    """Everything under the root group's ``fusion`` attribute."""

    schema_id: Literal["fusion/0.1"] = Field(alias="schema")
    """Format identifier and version, ``fusion/0.1``. Readers dispatch on it."""
    title: NonEmptyStr
    """Short human title of the dataset."""
    description: str | None = None
    """Longer description: what the dataset is for, how it was made."""
    license: str | None = None
    """SPDX licence identifier of the data, e.g. ``CC-BY-4.0``."""
    sample: Sample
    created: AwareDatetime
    """When the dataset was first written, ISO 8601 with a time zone."""
    modified: AwareDatetime
    """When the dataset was last changed; not before ``created``."""
    provenance: Provenance = Field(default_factory=Provenance)
    """Entities, activities and agents behind every channel."""

    @model_validator(mode="after")
    def _modified_after_created(self) -> RootAttrs:
        if self.modified < self.created:
            raise PydanticCustomError(
                "time_order",
                "expected modified >= created, but got created {created}, modified {modified}",
                {
                    "created": self.created.isoformat(),
                    "modified": self.modified.isoformat(),
                    "attribute": "modified",
                },
            )
        return self
