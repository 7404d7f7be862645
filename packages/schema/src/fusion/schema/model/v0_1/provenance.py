"""The provenance graph (PROV-shaped): entities, the activities that used and generated them,
and the agents responsible.

Stored once per dataset, in the root group's ``fusion.provenance`` attribute. Every channel
names, in its ``provenance`` attribute, the activity that made it; that activity lists the
channel's path (``/particle/phase``) in ``generated``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    Field,
    JsonValue,
    NonNegativeInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._base import FusionModel, Identifier, NonEmptyStr, Sha256

__all__ = [
    "ACTIVITY_TYPES",
    "Activity",
    "Agent",
    "DatasetEntity",
    "Entity",
    "FileEntity",
    "ModelEntity",
    "Provenance",
    "Software",
]

ACTIVITY_TYPES: tuple[str, ...] = (
    "load",
    "convert",
    "reconstruct",
    "register",
    "segment",
    "generate",
    "super-resolve",
    "inpaint",
    "style-transfer",
    "transfer",
    "place",
    "derive",
    "fuse",
)
"""Kinds of activity; ``transfer`` moves a property from one modality onto another's voxels."""

ModelRef = Annotated[
    str,
    StringConstraints(pattern=r"^model:[a-z0-9]+(-[a-z0-9]+)*@\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"),
]
Orcid = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")]
ChannelPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]


class FileEntity(FusionModel):
    """A raw instrument or image file that was read."""

    type: Literal["file"] = "file"
    name: NonEmptyStr
    """File name as the instrument wrote it, without folders."""
    location: str | None = None
    """Path or URL where it was read, when it is worth recording."""
    sha256: Sha256
    """SHA-256 of the file's bytes, lower-case hex."""
    size: NonNegativeInt
    """Size of the file in bytes."""
    format: str | None = None
    """File format as named by its reader, e.g. ``EDAX TSL .ang``."""


class DatasetEntity(FusionModel):
    """Another dataset (a fused store, a registry dataset) that was used."""

    type: Literal["dataset"] = "dataset"
    location: NonEmptyStr
    """Path, URL or ``dataset:name@version`` reference."""
    sha256: Sha256 | None = None
    """Digest of the dataset's manifest or archive, when known."""


class ModelEntity(FusionModel):
    """A registered model that was run."""

    type: Literal["model"] = "model"
    ref: ModelRef
    """Registry reference ``model:name@version``."""
    sha256: Sha256
    """SHA-256 of the model artifact (the ONNX file) that ran."""


Entity = Annotated[FileEntity | DatasetEntity | ModelEntity, Field(discriminator="type")]


class Software(FusionModel):
    """A program and its version."""

    name: NonEmptyStr
    version: NonEmptyStr


class Activity(FusionModel):
    """Something that happened: a file was loaded, a model generated a volume, groups were fused."""

    type: Literal[ACTIVITY_TYPES]  # type: ignore[valid-type]
    software: Software
    """The program that ran, with its version."""
    started: AwareDatetime
    """Start time, ISO 8601 with a time zone."""
    ended: AwareDatetime
    """End time, ISO 8601 with a time zone; not before ``started``."""
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    """Every parameter that changes the result (seeds, thresholds, device), as JSON."""
    used: list[Identifier | ChannelPath] = Field(default_factory=list)
    """Entity ids and channel paths (``/group/channel``) this activity read."""
    generated: list[ChannelPath] = Field(default_factory=list)
    """Paths of the channels this activity wrote, ``/group/channel``."""
    agents: list[Identifier] = Field(default_factory=list)
    """Ids of the agents responsible."""
    description: str | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Activity:
        if self.ended < self.started:
            raise PydanticCustomError(
                "time_order",
                "expected ended >= started, but got started {started}, ended {ended}",
                {
                    "started": self.started.isoformat(),
                    "ended": self.ended.isoformat(),
                    "attribute": "ended",
                },
            )
        return self


class Agent(FusionModel):
    """A group, a person or an organisation responsible for activities."""

    type: Literal["group", "person", "organization"]
    name: NonEmptyStr
    orcid: Orcid | None = None
    """ORCID iD as ``0000-0002-1825-0097`` (people only)."""
    member_of: Identifier | None = None
    """Id of the group or organisation this agent belongs to."""


class Provenance(FusionModel):
    """The dataset's provenance graph; ids are keys and are unique within the dataset."""

    entities: dict[Identifier, Entity] = Field(default_factory=dict)
    activities: dict[Identifier, Activity] = Field(default_factory=dict)
    agents: dict[Identifier, Agent] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Provenance:
        dangling = list(self.dangling_references())
        if dangling:
            where, ref = dangling[0]
            raise PydanticCustomError(
                "dangling_reference",
                "{where} refers to '{ref}', which is not defined in the provenance graph",
                {"where": where, "ref": ref, "attribute": where},
            )
        return self

    def dangling_references(self) -> list[tuple[str, str]]:
        """Return ``(where, id)`` for every id referred to but not defined."""
        found: list[tuple[str, str]] = []
        for act_id, act in self.activities.items():
            for ref in act.used:
                if not ref.startswith("/") and ref not in self.entities:
                    found.append((f"activities.{act_id}.used", ref))
            for ref in act.agents:
                if ref not in self.agents:
                    found.append((f"activities.{act_id}.agents", ref))
        for agent_id, agent in self.agents.items():
            if agent.member_of is not None and agent.member_of not in self.agents:
                found.append((f"agents.{agent_id}.member_of", agent.member_of))
        return found

    def activity_for(self, channel_path: str) -> tuple[str, Activity] | None:
        """Return ``(id, activity)`` of the activity that generated ``channel_path``."""
        for act_id, act in self.activities.items():
            if channel_path in act.generated:
                return act_id, act
        return None
