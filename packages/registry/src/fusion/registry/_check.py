"""`fusion registry check`: everything a contributor's entry must pass, each failure named.

Every entry: the file is pinned (sha256 and size) and its bytes match, as do those of its card
file (``fusion-registry/2``). Models: the card validates, its output channels against the
format's vocabularies, and its test tensors are readable and pinned; the rest is the card's
task's (`fusion.registry.tasks`): its card rules, then its check (for the ONNX tasks of
``fusion-models``: the file loads, reproduces its test tensors and its wrapped output
conforms). A card whose task is not installed is reported as skipped. Datasets: the zipped
store validates against the format the card names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from . import _errors as errors
from ._cache import Cache
from ._card import ModelCard
from ._config import default_registry, offline_from_env
from ._index import FORMATS, RegistryIndex
from ._load import LoadedRegistry, describe_problem, safe_yaml, validate_document
from ._models import KINDS, DatasetVersion, ModelVersion, Registry
from ._pull import fetch
from ._registry import Resolved
from ._report import CheckReport, EntryResult
from ._transfer import local_path, read_bytes
from .tasks import CheckRequest, Task, installed_tasks, missing_task

__all__ = ["CheckReport", "EntryResult", "check_registry"]


def check_registry(
    location: str | os.PathLike[str] | None = None,
    *,
    cache: Cache | None = None,
    storage_options: dict[str, Any] | None = None,
    tasks: Mapping[str, Task] | None = None,
    dataset_level: Literal["metadata", "data"] = "data",
    outputs_dir: str | None = None,
) -> CheckReport:
    """Check every entry of the registry at ``location``; never raises for a bad entry.

    Artifacts are pulled into the cache (verified as by ``pull``); ``FUSION_OFFLINE`` is
    honoured.

    Parameters
    ----------
    location
        Path or URL of the registry file; default ``FUSION_REGISTRY``, else the checkout's.
    tasks
        The tasks that check model entries, by card task; default: those installed
        (entry-point group ``fusion.tasks``, `installed_tasks`).
    dataset_level
        How deeply datasets are validated (``fusion validate --level``).
    outputs_dir
        Where the outputs of a model whose test tensors do not reproduce are saved (as
        ``.npz``), so that the difference can be looked at; default a new temporary folder.
    """
    ctx = _Context(
        cache=cache if cache is not None else Cache(),
        storage_options=storage_options,
        offline=offline_from_env(),
        tasks=installed_tasks() if tasks is None else tasks,
        dataset_level=dataset_level,
        outputs_dir=outputs_dir,
    )
    location = os.fspath(location) if location is not None else default_registry()
    path = local_path(location)
    if path is not None:
        location = str(Path(path).resolve())
    try:
        document = safe_yaml(_read_registry(location, ctx), location)
    except (errors.RegistryFileError, OSError) as err:
        return CheckReport(location, [EntryResult("registry", failures=[str(err)])])
    found = document.get("registry") if isinstance(document, dict) else document
    if not isinstance(document, dict) or not isinstance(found, str) or found not in FORMATS:
        reason = f"not a {' or '.join(FORMATS)} file: `registry:` is {found!r}"
        return CheckReport(location, [EntryResult("registry", failures=[reason])])
    invalid, registry = _validate_entries(document)
    loaded = LoadedRegistry(registry, location, ctx.cache, ctx.offline, ctx.storage_options)
    results = list(invalid.values())
    for ref in loaded.refs():
        resolved = loaded.resolve(ref)
        result = EntryResult(str(ref))
        path = _check_artifact(result, resolved, ctx)
        item = _check_card_file(result, resolved)
        if path is not None and isinstance(item, ModelVersion):
            _check_model(result, resolved, item, path, ctx)
        elif path is not None and isinstance(item, DatasetVersion):
            _check_dataset(result, item, path, ctx.dataset_level)
        results.append(result)
    return CheckReport(location, results)


@dataclass(frozen=True)
class _Context:
    cache: Cache
    storage_options: dict[str, Any] | None
    offline: bool
    tasks: Mapping[str, Task]
    dataset_level: Literal["metadata", "data"]
    outputs_dir: str | None


def _read_registry(location: str, ctx: _Context) -> bytes:
    if ctx.offline and local_path(location) is None:
        data = ctx.cache.cached_registry(location)
        if data is None:
            raise errors.OfflineError(f"{location} was never read online, and offline mode is on")
        return data
    return read_bytes(location, ctx.storage_options)


def _validate_entries(document: dict) -> tuple[dict[str, EntryResult], Registry | RegistryIndex]:
    """Per-entry validation: invalid entries are reported and left out, the rest kept."""
    try:
        return {}, validate_document(document)
    except ValidationError as err:
        problems = err.errors(include_url=False)
    invalid: dict[str, EntryResult] = {}
    for problem in problems:
        label, text = describe_problem(problem)
        what = "card invalid" if tuple(problem["loc"])[4:5] == ("card",) else "invalid"
        invalid.setdefault(label, EntryResult(label)).failures.append(f"{what}: {text}")
    kept: dict[str, Any] = {"registry": document["registry"]}
    for kind, section in KINDS.items():
        kept[section] = {}
        raw = document.get(section)
        for name, entry in (raw if isinstance(raw, dict) else {}).items():
            if f"{kind}:{name}" in invalid or not isinstance(entry, dict):
                continue
            versions = entry.get("versions") if isinstance(entry.get("versions"), dict) else {}
            good = {v: i for v, i in versions.items() if f"{kind}:{name}@{v}" not in invalid}
            if good:
                latest = entry.get("latest") if entry.get("latest") in good else None
                kept[section][name] = {"latest": latest, "versions": good}
    return invalid, validate_document(kept)


def _check_artifact(result: EntryResult, resolved: Resolved, ctx: _Context) -> Path | None:
    item = resolved.artifact
    if item.sha256 is None or item.size is None:
        missing = " and ".join(k for k in ("sha256", "size") if getattr(item, k) is None)
        result.failures.append(f"not pinned: {missing} missing (required in a published registry)")
    try:
        path = fetch(
            resolved, cache=ctx.cache, offline=ctx.offline, storage_options=ctx.storage_options
        )
    except errors.HashMismatchError as err:
        result.failures.append(f"wrong hash: expected {err.expected}, got {err.got}")
        return None
    except errors.SizeMismatchError as err:
        result.failures.append(f"wrong size: expected {err.expected} bytes, got {err.got}")
        return None
    except (errors.FusionError, OSError) as err:
        result.failures.append(f"artifact unreadable: {err}")
        return None
    result.passed.append("hash")
    return path


def _check_card_file(
    result: EntryResult, resolved: Resolved
) -> ModelVersion | DatasetVersion | None:
    """The entry with its card; an index's card file must be there, pinned and valid."""
    try:
        item = resolved.entry
    except errors.IntegrityError as err:
        card = resolved.locate(resolved.artifact.card)  # type: ignore[attr-defined]
        if isinstance(err, errors.SizeMismatchError):
            result.failures.append(
                f"wrong card size: {card}: expected {err.expected} bytes, got {err.got}"
            )
        else:
            result.failures.append(
                f"wrong card hash: {card}: expected {err.expected}, got {err.got}"
            )  # type: ignore[attr-defined]
        return None
    except errors.CardFileError as err:
        what = "card missing" if isinstance(err.__cause__, OSError) else "card invalid"
        result.failures.append(f"{what}: {err}")
        return None
    except (errors.FusionError, OSError) as err:
        result.failures.append(f"card unreadable: {err}")
        return None
    return item  # a verified card file is not listed: the output reads as for inline cards


def _check_dataset(result: EntryResult, item: DatasetVersion, path: Path, level: str) -> None:
    from fusion.schema import validate

    report = validate(str(path), level=level)  # type: ignore[arg-type]
    if not report.ok:
        shown = "; ".join(str(f) for f in report.errors[:3]) or report.summary()
        result.failures.append(f"does not conform to the format: {' '.join(shown.split())}")
    elif report.schema_id != item.card.format:
        result.failures.append(f"card says {item.card.format}, the store is {report.schema_id}")
    else:
        result.passed.append(f"format {report.schema_id} ({level})")


def _check_model(
    result: EntryResult,
    resolved: Resolved,
    item: ModelVersion,
    path: Path,
    ctx: _Context,
) -> None:
    card = item.card
    task = ctx.tasks.get(card.task)
    problems = _vocabulary_problems(card)
    rules = [] if task is None else task.card_problems(card)
    result.failures += [f"card invalid: {p}" for p in (*problems, *rules)]
    if not problems and not rules:
        result.passed.append("card")
    if task is None:
        result.skipped.append(f"task: skipped: {missing_task(card.task, ctx.tasks)}")
        return
    if rules:
        return
    tensors = _fetch_test_tensors(result, resolved, item, ctx)
    if tensors is None:
        return
    request = CheckRequest(
        ref=str(resolved.ref),
        sha256=item.sha256 or "",
        card=card,
        artifact=path,
        test_tensors=tensors,
        outputs_dir=ctx.outputs_dir,
    )
    try:
        task.check(request, result)
    except Exception as err:
        result.failures.append(
            f"task {card.task!r} failed: {type(err).__name__}: {' '.join(str(err).split())}"
        )


def _vocabulary_problems(card: ModelCard) -> list[str]:
    """Output channels against the format's channel rules (units, modality, flags)."""
    from fusion.schema import ChannelAttrs

    origin = "generated" if card.task.startswith("generate-") else "inferred"
    problems = []
    for i, channel in enumerate(card.channels):
        attrs = {
            "long_name": channel.long_name,
            "units": channel.units,
            "modality": channel.modality,
            "origin": origin,
            "provenance": "model-card",
            "flag_values": channel.flag_values,
            "flag_meanings": channel.flag_meanings,
        }
        try:
            ChannelAttrs.model_validate({k: v for k, v in attrs.items() if v is not None})
        except ValidationError as err:
            for p in err.errors(include_url=False):
                where = ".".join(str(x) for x in p["loc"]) or "flags"
                problems.append(f"channels[{i}] ({channel.name}).{where}: {p['msg']}")
    return problems


def _fetch_test_tensors(
    result: EntryResult, resolved: Resolved, item: ModelVersion, ctx: _Context
) -> Path | None:
    """The card's test tensors, pulled into the cache and verified; None (a failure) if not."""
    try:
        return fetch(
            resolved,
            item.card.test_tensors,
            cache=ctx.cache,
            offline=ctx.offline,
            storage_options=ctx.storage_options,
        )
    except Exception as err:
        result.failures.append(f"test tensors unreadable: {' '.join(str(err).split())}")
        return None
