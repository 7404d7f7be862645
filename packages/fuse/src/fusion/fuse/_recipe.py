"""The recipe: a versioned YAML file naming inputs, steps and the output of a fusion run.

A recipe is data, checked by pydantic before anything runs::

    recipe: fusion-recipe/1
    title: NMC cathode, particle and electrode scale
    sample: {material: NMC cathode}
    inputs:
      sem: {url: ../data/sem.tif}            # a path (relative to the recipe) or any fsspec URL
    steps:
      - {id: sem, op: load, input: sem, kind: sem}
      - {id: sem-phase, op: segment, from: sem, model: "model:unet-nmc"}
      - {id: fused, op: place, groups: {sem: {from: sem-phase}}}

Steps run in the order written; each names the earlier steps it reads (``from``, ``to``), so
the order is checked when the recipe is read, not half-way through a run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PositiveInt,
    ValidationError,
    model_validator,
)

__all__ = [
    "RECIPE_FORMAT",
    "GenerateStep",
    "GroupPlacement",
    "Input",
    "LoadStep",
    "PlaceStep",
    "Recipe",
    "RecipeError",
    "SegmentStep",
    "Step",
    "SuperResolveStep",
    "TransferStep",
    "load_recipe",
]

RECIPE_FORMAT = "fusion-recipe/1"

StepId = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
GroupName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
Triple = tuple[float, float, float]


class RecipeError(ValueError):
    """A recipe that cannot be read or does not make sense; the message names the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Input(_Model):
    """An input file or folder: a local path (relative to the recipe) or an fsspec URL."""

    url: str
    storage_options: dict[str, JsonValue] = Field(default_factory=dict)
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class LoadStep(_Model):
    """Read an instrument file with `fusion.loaders` (``options``: e.g. ``voxel_size_um``)."""

    op: Literal["load"]
    id: StepId
    input: str
    kind: Literal["sem", "xct", "ebsd", "eels"]
    options: dict[str, JsonValue] = Field(default_factory=dict)


class SegmentStep(_Model):
    """Label a grayscale channel of an earlier step with a registered segmentation model."""

    op: Literal["segment"]
    id: StepId
    source: StepId = Field(alias="from")
    model: str
    channel: str | None = None
    name: str | None = None
    tile: int = Field(512, gt=0)
    overlap: int = Field(64, ge=0)


class SuperResolveStep(_Model):
    """Give a coarse particle label channel of an earlier step a finer scale group with a
    registered super-resolution model (`fusion.models.superres`)."""

    op: Literal["super-resolve"]
    id: StepId
    source: StepId = Field(alias="from")
    model: str
    channel: str | None = None
    group: GroupName | None = None
    region: (
        Annotated[
            list[Annotated[list[int], Field(min_length=2, max_length=2)]],
            Field(min_length=3, max_length=3),
        ]
        | None
    ) = None  # coarse cells, half-open
    seed: int = 0
    tile: PositiveInt | None = None


class GenerateStep(_Model):
    """Sample a registered generator (``voxel_size_um`` where its card gives none)."""

    op: Literal["generate"]
    id: StepId
    model: str
    shape: Annotated[list[PositiveInt], Field(min_length=3, max_length=3)]  # z, y, x voxels
    seed: int = 0
    voxel_size_um: float | Triple | None = None


class TransferStep(_Model):
    """Give a group of an earlier step a property measured in another file (`fusion.transfer`):
    ``crystallography`` (grains and orientations from an EBSD map) or ``chemistry`` (EELS)."""

    op: Literal["transfer"]
    id: StepId
    property: Literal["crystallography", "chemistry"]
    to: StepId
    group: GroupName | None = None
    source: StepId = Field(alias="from")
    parameters: dict[str, JsonValue] = Field(default_factory=dict)


class GroupPlacement(_Model):
    """One scale group of the placed dataset: a group of an earlier step, optionally moved.

    ``inside``: another placed group whose extent must contain this one (an error otherwise);
    ``at_um``: where this group's first voxel centre goes (z, y, x); by default, with
    ``inside``, the group is centred in that one, and without it it stays where it is.
    """

    source: StepId = Field(alias="from")
    group: GroupName | None = None
    inside: GroupName | None = None
    at_um: Triple | None = None


class PlaceStep(_Model):
    """Assemble scale groups of earlier steps into one dataset, co-registered by coordinates."""

    op: Literal["place"]
    id: StepId
    groups: dict[GroupName, GroupPlacement] = Field(min_length=1)

    @model_validator(mode="after")
    def _inside_names_a_group(self) -> PlaceStep:
        for name, placement in self.groups.items():
            if placement.inside is not None and placement.inside not in self.groups:
                raise ValueError(f"group {name!r} is to lie inside {placement.inside!r}, "
                                 f"which is not one of {sorted(self.groups)}")  # fmt: skip
            if placement.inside == name:
                raise ValueError(f"group {name!r} cannot lie inside itself")
        return self


Step = Annotated[
    LoadStep | SegmentStep | SuperResolveStep | GenerateStep | TransferStep | PlaceStep,
    Field(discriminator="op"),
]


class Sample(_Model):
    material: str
    electrode: str | None = None
    cell: str | None = None
    notes: str | None = None


class Recipe(_Model):
    """A whole recipe; `load_recipe` reads one from YAML."""

    recipe: Literal["fusion-recipe/1"]
    title: str = Field(min_length=1)
    description: str | None = None
    license: str | None = None
    sample: Sample
    inputs: dict[StepId, Input] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    output: StepId | None = None

    @model_validator(mode="after")
    def _references_point_back(self) -> Recipe:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            for ref in upstream(step):
                if ref not in seen:
                    raise ValueError(
                        f"step {step.id!r} reads {ref!r}, which is not an earlier step"
                    )
            if isinstance(step, LoadStep) and step.input not in self.inputs:
                raise ValueError(f"step {step.id!r} loads input {step.input!r}, "
                                 f"which is not one of {sorted(self.inputs)}")  # fmt: skip
            seen.add(step.id)
        if self.output is not None and self.output not in seen:
            raise ValueError(f"output {self.output!r} is not a step")
        return self

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def output_step(self) -> str:
        return self.output or self.steps[-1].id


def upstream(step: Step) -> list[str]:
    """The earlier steps a step reads, in a fixed order."""
    if isinstance(step, SegmentStep | SuperResolveStep):
        return [step.source]
    if isinstance(step, TransferStep):
        return [step.to, step.source]
    if isinstance(step, PlaceStep):
        return sorted({p.source for p in step.groups.values()})
    return []


def load_recipe(path: str | os.PathLike[str]) -> tuple[Recipe, bytes]:
    """Read and check a recipe file; return it with its bytes (hashed into the provenance).

    Raises
    ------
    RecipeError
        The file is not YAML or not a valid recipe; the message names the file and the field.
    OSError
        The file cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not YAML: {' '.join(str(err).split())}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping, got {type(data).__name__}")
    if data.get("recipe") != RECIPE_FORMAT:
        raise RecipeError(
            f"{path}: `recipe: {RECIPE_FORMAT}` must be the format line, got {data.get('recipe')!r}"
        )
    try:
        return Recipe.model_validate(data), raw
    except ValidationError as err:
        raise RecipeError(f"{path}: {_explain(err, data)}") from None


def _explain(err: ValidationError, data: dict) -> str:
    """Pydantic's errors on one line; a step is named by its id as well as its index."""
    parts = []
    for e in err.errors()[:5]:
        loc = [p for p in e["loc"] if not _is_union_tag(p)]
        where = ".".join(str(p) for p in loc)
        if len(loc) > 1 and loc[0] == "steps" and isinstance(loc[1], int):
            step = (data.get("steps") or [None] * (loc[1] + 1))[loc[1]]
            if isinstance(step, dict) and "id" in step:
                where += f" (step {step['id']!r})"
        parts.append(f"{where or 'recipe'}: {e['msg']}")
    more = len(err.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _is_union_tag(part: Any) -> bool:
    return part in ("load", "segment", "super-resolve", "generate", "transfer", "place")
