"""One function per step kind: the datasets a step reads in, its dataset out.

Each function takes the step, the datasets of the steps it names (already written and opened
lazily from the work folder) and the run's settings, and returns a fused dataset with the
step's activity in its provenance; the runner writes it. Nothing here decides whether a step
runs: that is the runner's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import xarray as xr

from ._inputs import ResolvedInput
from ._place import group_of, place
from ._recipe import (
    GenerateStep,
    LoadStep,
    PlaceStep,
    SegmentStep,
    Step,
    SuperResolveStep,
    TransferStep,
)

__all__ = ["RunSettings", "run_step"]


@dataclass(frozen=True)
class RunSettings:
    device: str = "auto"
    registry: str | None = None
    offline: bool | None = None
    progress: Callable[[int, int], None] | None = None


def run_step(
    step: Step,
    upstream: Mapping[str, xr.DataTree],
    inputs: Mapping[str, ResolvedInput],
    settings: RunSettings,
) -> xr.DataTree:
    """The dataset ``step`` makes from ``upstream`` (step id -> dataset) and ``inputs``."""
    if isinstance(step, LoadStep):
        return run_load(step, inputs[step.input])
    if isinstance(step, SegmentStep):
        return run_segment(step, upstream[step.source], settings)
    if isinstance(step, SuperResolveStep):
        return run_superres(step, upstream[step.source], settings)
    if isinstance(step, GenerateStep):
        return run_generate(step, settings)
    if isinstance(step, TransferStep):
        return run_transfer(step, upstream[step.to], upstream[step.source])
    if isinstance(step, PlaceStep):
        return place(step, upstream)
    raise TypeError(f"unknown step {step!r}")  # the recipe model admits no other


def run_load(step: LoadStep, source: ResolvedInput) -> xr.DataTree:
    from fusion.loaders import load

    return load(step.kind, source.path, **step.options)


def run_segment(step: SegmentStep, tree: xr.DataTree, settings: RunSettings) -> xr.DataTree:
    from fusion.models import segment

    return segment(
        tree, step.model, channel=step.channel, name=step.name, device=settings.device,
        tile=step.tile, overlap=step.overlap, registry=settings.registry,
        offline=settings.offline, progress=settings.progress,
    )  # fmt: skip


def run_superres(step: SuperResolveStep, tree: xr.DataTree, settings: RunSettings) -> xr.DataTree:
    from fusion.models import superres

    return superres(
        tree, step.model, channel=step.channel, group=step.group, seed=step.seed,
        region=None if step.region is None else [tuple(r) for r in step.region],
        device=settings.device, tile=step.tile or "auto", registry=settings.registry,
        offline=settings.offline,
    )  # fmt: skip


def run_generate(step: GenerateStep, settings: RunSettings) -> xr.DataTree:
    from fusion.models import generate

    return generate(
        step.model, step.shape, seed=step.seed, device=settings.device,
        voxel_size_um=step.voxel_size_um, registry=settings.registry, offline=settings.offline,
    )  # fmt: skip


def run_transfer(step: TransferStep, tree: xr.DataTree, source: xr.DataTree) -> xr.DataTree:
    import fusion.transfer as transfer

    group = group_of(tree, step.to, step.group)
    add: Callable[..., xr.DataTree] = {
        "crystallography": transfer.add_crystallography,
        "chemistry": transfer.add_chemistry,
    }[step.property]
    parameters: dict[str, Any] = dict(step.parameters)
    return add(tree, group, source, **parameters)
