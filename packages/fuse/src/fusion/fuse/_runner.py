"""Running a recipe: step keys, the work folder, and the final write.

Every step has a key: the sha256 of what determines its result — the step's parameters, the
digests of the files it reads, the keys of the steps it reads, the models it runs (version and
sha256, resolved in the registry now, so a new model version re-runs its steps) and the
versions of the fusion packages. A step's dataset is written atomically to
``WORK/steps/<id>-<key>.zarr``; if that store exists, the step is not run again. Steps read
their inputs lazily from those stores, so memory stays bounded by the steps' own tiles. The
output step's dataset is then written to the output location (any fsspec URL) with the
recipe's title and sample, the recipe file as a provenance entity and a ``fuse`` activity
listing every step and its key; that activity ends when the output is written (its arrays are
copied from the work folder then).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import xarray as xr

from fusion.base import hash_bytes, option_error
from fusion.schema import end_when_written, unique_id
from fusion.schema.provenance import add_activity, file_entity, provenance_of

from ._inputs import ResolvedInput, resolve_input
from ._recipe import (
    GenerateStep,
    Recipe,
    RecipeError,
    SegmentStep,
    Step,
    SuperResolveStep,
    load_recipe,
    upstream,
)
from ._steps import RunSettings, run_step

__all__ = ["FuseResult", "StepRun", "default_work_dir", "fuse", "step_keys"]

STEP_KEY_FORMAT = "fusion-fuse-step/1"
PACKAGES = ("fusion-schema", "fusion-loaders", "fusion-models", "fusion-registry",
            "fusion-transfer", "fusion-fuse")  # fmt: skip

ProgressFactory = Callable[..., contextlib.AbstractContextManager]


@dataclass(frozen=True)
class StepRun:
    id: str
    op: str
    key: str
    ran: bool  # False: its dataset was in the work folder already
    seconds: float
    store: Path


@dataclass
class FuseResult:
    output: str
    steps: list[StepRun] = field(default_factory=list)

    @property
    def ran(self) -> list[str]:
        return [s.id for s in self.steps if s.ran]


def default_work_dir() -> Path:
    """``FUSION_CACHE``/steps, else the user cache folder's ``steps`` (as the model cache)."""
    from fusion.registry import default_cache_dir

    return default_cache_dir() / "fuse"


def fuse(
    recipe_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    work: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    device: str = "auto",
    registry: str | None = None,
    offline: bool | None = None,
    progress: ProgressFactory | None = None,
    log: Callable[[str], None] | None = None,
) -> FuseResult:
    """Run the recipe at ``recipe_path`` and write its output dataset to ``output``.

    Parameters
    ----------
    output
        A folder, a ``.zip`` or an fsspec URL; an existing one is an error without
        ``overwrite`` (checked before any step runs) and is left as it was.
    work
        The folder of step results (default `default_work_dir`); share it between runs to
        reuse steps.
    progress
        ``progress(description, unit=...)`` context managers yielding ``update(done, total)``
        or None (``fusion.cli``'s progress bars).
    log
        Called with one line per step (ran or reused, and how long it took).

    Raises
    ------
    RecipeError
        The recipe cannot be read, an input is missing or its digest is wrong, or a step
        cannot do what it says; the message names the recipe or the step.
    """
    from fusion.schema import write

    recipe, raw = load_recipe(recipe_path)
    location = os.fspath(output)
    if not overwrite and _exists(location, storage_options or {}):
        raise option_error(
            FileExistsError,
            f"{location} exists; pass {{overwrite}} to replace it",
            overwrite="True",
        )
    work_dir = Path(work) if work is not None else default_work_dir()
    (work_dir / "steps").mkdir(parents=True, exist_ok=True)
    recipe_dir = Path(recipe_path).resolve().parent
    inputs = {name: resolve_input(name, spec, recipe_dir, work_dir)
              for name, spec in recipe.inputs.items()}  # fmt: skip
    settings = RunSettings(device=device, registry=registry, offline=offline)
    keys = step_keys(recipe, inputs, settings)
    result = FuseResult(location)
    datasets: dict[str, xr.DataTree] = {}
    for step in recipe.steps:
        store = work_dir / "steps" / f"{step.id}-{keys[step.id][:20]}.zarr"
        started = time.perf_counter()
        ran = not store.exists()
        if ran:
            with _progress(progress, f"step {step.id}") as update:
                tree = _run(step, datasets, inputs, settings, update)
                write(tree, store)
        datasets[step.id] = xr.open_datatree(store, engine="zarr", chunks={})
        run = StepRun(step.id, step.op, keys[step.id], ran, time.perf_counter() - started, store)
        result.steps.append(run)
        if log is not None:
            how = f"ran in {run.seconds:.1f} s" if ran else "reused (same inputs and parameters)"
            log(f"step {step.id} ({step.op}): {how}")
    final = with_recipe(datasets[recipe.output_step], recipe, raw, Path(recipe_path), result)
    write(final, location, overwrite=overwrite, storage_options=storage_options)
    return result


def _run(step: Step, datasets, inputs, settings: RunSettings, update) -> xr.DataTree:
    settings = RunSettings(settings.device, settings.registry, settings.offline, update)
    try:
        return run_step(step, {ref: datasets[ref] for ref in upstream(step)}, inputs, settings)
    except RecipeError:
        raise
    except (ValueError, KeyError, TypeError) as err:  # a step that cannot do what it says
        raise RecipeError(f"step {step.id!r} ({step.op}): {err}") from err


def step_keys(recipe: Recipe, inputs: Mapping[str, ResolvedInput], settings: RunSettings) -> dict:
    """The key of every step (see the module docstring), in recipe order."""
    software = {name: _version(name) for name in PACKAGES}
    models = _model_identities(recipe, settings)
    keys: dict[str, str] = {}
    for step in recipe.steps:
        payload = {
            "format": STEP_KEY_FORMAT,
            "step": step.model_dump(mode="json", by_alias=True, exclude={"id"}),
            "upstream": {ref: keys[ref] for ref in upstream(step)},
            "input": inputs[step.input].sha256 if step.op == "load" else None,  # type: ignore[union-attr]
            "model": models.get(step.id),
            "software": software,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        keys[step.id] = hash_bytes(text.encode())
    return keys


def _model_identities(recipe: Recipe, settings: RunSettings) -> dict[str, dict[str, str]]:
    """Per model step, the model as the registry resolves it now (one registry read, no
    download: `fusion.models.resolve_model`, the resolution the steps' runs use too)."""
    steps = [
        s for s in recipe.steps if isinstance(s, GenerateStep | SegmentStep | SuperResolveStep)
    ]
    if not steps:
        return {}
    from fusion.models import resolve_model
    from fusion.registry import load_registry

    registry = load_registry(settings.registry, offline=settings.offline)
    identities = {}
    for step in steps:
        try:
            model = resolve_model(step.model, registry=registry)
        except Exception as err:
            raise RecipeError(f"step {step.id!r}: {err}") from err
        identities[step.id] = {"ref": model.ref, "sha256": model.sha256}
    return identities


def with_recipe(
    tree: xr.DataTree, recipe: Recipe, raw: bytes, path: Path, result: FuseResult
) -> xr.DataTree:
    """The output dataset: the recipe's title and sample, the recipe as an entity, and a
    ``fuse`` activity listing every step with its key, marked to end when the output is
    written (its arrays are read from the work folder's stores then)."""
    root = json.loads(json.dumps(tree.attrs["fusion"]))  # a deep, plain copy
    root["title"] = recipe.title
    root["sample"] = recipe.sample.model_dump(exclude_none=True)
    for key in ("description", "license"):
        if getattr(recipe, key) is not None:
            root[key] = getattr(recipe, key)
    provenance = provenance_of(root)
    recipe_id = unique_id("recipe", provenance["entities"])
    entity = file_entity(path, format=recipe.recipe, sha256=hash_bytes(raw), size=len(raw))
    fuse_id = add_activity(
        root,
        "fuse",
        activity_id=unique_id("fuse", provenance["activities"]),
        software=("fusion-fuse", _version("fusion-fuse")),
        started=min(a["started"] for a in provenance["activities"].values()),
        parameters={
            "recipe": recipe.title,
            "output_step": recipe.output_step,
            "steps": {s.id: {"op": s.op, "key": s.key} for s in result.steps},
        },
        used=[recipe_id],
        entities={recipe_id: entity},
        description="ran the recipe; each step's own activity records what it did",
    )
    out = tree.copy()
    for node in out.subtree:  # written afresh from the work store: its encodings do not apply
        node.dataset = node.to_dataset(inherit=False).drop_encoding()
    out.attrs = {**tree.attrs, "fusion": root}
    return end_when_written(out, fuse_id)


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _exists(location: str, storage_options: Mapping[str, Any]) -> bool:
    if "://" not in location:
        return Path(location).exists()
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(location, **storage_options)
    return bool(fs.exists(root))


@contextlib.contextmanager
def _progress(factory: ProgressFactory | None, description: str) -> Iterator[Any]:
    if factory is None:
        yield None
        return
    with factory(description, unit="tile") as update:
        yield update
