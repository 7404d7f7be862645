"""`fusion registry check`: everything a contributor's entry must pass, each failure named.

Every entry: the file is pinned (sha256 and size) and its bytes match, as do those of its card
file (``fusion-registry/2``). Models: the ONNX file
passes ``onnx.checker`` (full check), embeds its weights, loads in onnxruntime (CPU), and its
inputs and outputs are the card's; the card validates, its output channels against the
format's vocabularies; the test tensors follow the card's shape rules, a generator's latent is
what the seed draws, and the outputs reproduce within the card's tolerance; the output wrapped
by an installed runtime validates against the format (skipped when none is installed).
Datasets: the zipped store validates against the format the card names.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from . import _lazy_errors as errors
from ._cache import Cache
from ._card import ModelCard
from ._config import default_registry, offline_from_env
from ._index import FORMATS, RegistryIndex
from ._load import LoadedRegistry, describe_problem, safe_yaml, validate_document
from ._models import KINDS, DatasetVersion, ModelVersion, Registry
from ._pull import fetch
from ._registry import Resolved
from ._runtime import Runtime, WrapRequest, installed_runtimes
from ._tensors import compare, draw_latent, shape_problems
from ._transfer import local_path, read_bytes

__all__ = ["CheckReport", "EntryResult", "check_registry"]

_ORT_TYPES = {
    "float16": "tensor(float16)",
    "float32": "tensor(float)",
    "float64": "tensor(double)",
    "int8": "tensor(int8)",
    "int16": "tensor(int16)",
    "int32": "tensor(int32)",
    "int64": "tensor(int64)",
    "uint8": "tensor(uint8)",
    "uint16": "tensor(uint16)",
    "uint32": "tensor(uint32)",
    "bool": "tensor(bool)",
}


@dataclass
class EntryResult:
    """The checks of one entry: which passed, which failed and why, which were skipped."""

    entry: str
    """``model:name@version``, ``model:name`` (name-level problems) or ``registry``."""
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class CheckReport:
    """The result of checking a registry; printing it gives one line per entry and reason."""

    registry: str
    results: list[EntryResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def __str__(self) -> str:
        lines = []
        for r in self.results:
            status = "ok" if r.ok else "FAILED"
            lines.append(
                f"{status:<7} {r.entry}" + (f" ({', '.join(r.passed)})" if r.passed else "")
            )
            lines += [f"  failed  {r.entry}: {reason}" for reason in r.failures]
            lines += [f"  skipped {r.entry}: {reason}" for reason in r.skipped]
        failed = sum(not r.ok for r in self.results)
        lines.append(f"{self.registry}: {len(self.results)} checked, {failed} failed")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = {
            "registry": self.registry,
            "ok": self.ok,
            "results": [asdict(r) for r in self.results],
        }
        return json.dumps(data, indent=2)


def check_registry(
    location: str | os.PathLike[str] | None = None,
    *,
    cache: Cache | None = None,
    storage_options: dict[str, Any] | None = None,
    runtimes: dict[str, Runtime] | None = None,
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
    runtimes
        Runtimes that wrap model outputs into datasets; default: those installed
        (entry-point group ``fusion.runtimes``).
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
        runtimes=installed_runtimes() if runtimes is None else runtimes,
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
    runtimes: dict[str, Runtime]
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
    vocabulary = _vocabulary_problems(card)
    result.failures += [f"card invalid: {p}" for p in vocabulary]
    if not vocabulary:
        result.passed.append("card")
    try:
        import numpy as np
        import onnxruntime
    except ImportError as err:
        result.skipped.append(f"onnx: {err.name} is not installed (fusion-registry[check])")
        return
    session = _onnx_session(result, path, card, onnxruntime)
    if session is None:
        return
    tensors = _test_tensors(result, resolved, item, ctx)
    if tensors is None:
        return
    names = [t.name for t in card.inputs]
    try:
        produced = dict(
            zip(
                [o.name for o in session.get_outputs()],
                session.run(None, {n: tensors[n] for n in names}),
                strict=True,
            )
        )
    except Exception as err:
        result.failures.append(
            f"test tensors: onnxruntime failed to run: {' '.join(str(err).split())}"
        )
        return
    problems = shape_problems(card, {k: v.shape for k, v in produced.items()})
    problems += [
        p
        for t in card.outputs
        if (p := compare(t.name, produced[t.name], tensors[t.name], card.test_tensors.tolerance))
    ]
    if problems:
        saved = _save_outputs(produced, str(resolved.ref), ctx.outputs_dir, np)
        result.failures.append(
            f"test tensors not reproduced: {'; '.join(problems)} (outputs saved to {saved})"
        )
        return
    result.passed.append("test tensors")
    _check_runtimes(result, resolved, item, tensors, produced, ctx.runtimes)


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


def _onnx_session(result: EntryResult, path: Path, card: ModelCard, onnxruntime: Any) -> Any:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
        external = [
            t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
        ]
        if external:
            raise ValueError(f"weights in external files ({', '.join(external[:3])}); embed them")
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:
        result.failures.append(f"bad ONNX: {' '.join(str(err).split())[:500]}")
        return None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:
        result.failures.append(
            f"bad ONNX: onnxruntime cannot load it: {' '.join(str(err).split())[:500]}"
        )
        return None
    problems = []
    for side, declared, actual in (
        ("input", card.inputs, session.get_inputs()),
        ("output", card.outputs, session.get_outputs()),
    ):
        by_name = {a.name: a for a in actual}
        if set(by_name) != {t.name for t in declared}:
            problems.append(
                f"{side}s are {sorted(by_name)} in ONNX, {[t.name for t in declared]} in the card"
            )
            continue
        for t in declared:
            a = by_name[t.name]
            if a.type != _ORT_TYPES[t.dtype]:
                problems.append(f"{side} {t.name!r} is {a.type} in ONNX, {t.dtype} in the card")
            if len(a.shape) != len(t.axes):
                problems.append(
                    f"{side} {t.name!r} has {len(a.shape)} axes in ONNX, {len(t.axes)} in the card"
                )
    if problems:
        result.failures.append("ONNX does not match the card: " + "; ".join(problems))
        return None
    result.passed.append("onnx")
    return session


def _test_tensors(
    result: EntryResult,
    resolved: Resolved,
    item: ModelVersion,
    ctx: _Context,
) -> dict[str, Any] | None:
    import numpy as np

    card, spec = item.card, item.card.test_tensors
    try:
        path = fetch(
            resolved,
            spec,
            cache=ctx.cache,
            offline=ctx.offline,
            storage_options=ctx.storage_options,
        )
        with np.load(path, allow_pickle=False) as npz:
            tensors = {k: npz[k] for k in npz.files}
    except Exception as err:
        result.failures.append(f"test tensors unreadable: {' '.join(str(err).split())}")
        return None
    names = {t.name for t in (*card.inputs, *card.outputs)}
    problems = []
    if set(tensors) != names:
        problems.append(f"arrays {sorted(tensors)}, the card's tensors are {sorted(names)}")
    else:
        problems += [
            f"{t.name!r} is {tensors[t.name].dtype}, the card says {t.dtype}"
            for t in (*card.inputs, *card.outputs)
            if str(tensors[t.name].dtype) != t.dtype
        ]
        problems += shape_problems(card, {k: v.shape for k, v in tensors.items()})
        if card.latent is not None and spec.seed is not None:
            latent = tensors[card.latent.tensor]
            drawn = draw_latent(card.latent, latent.shape, spec.seed)
            if not np.array_equal(drawn, latent):
                problems.append(
                    f"{card.latent.tensor!r} is not what seed {spec.seed} draws "
                    f"({card.latent.distribution}, {card.latent.rng})"
                )
    if problems:
        result.failures.append("test tensors do not fit the card: " + "; ".join(problems))
        return None
    return tensors


def _check_runtimes(
    result: EntryResult,
    resolved: Resolved,
    item: ModelVersion,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    runtimes: dict[str, Runtime],
) -> None:
    if not runtimes:
        result.skipped.append(
            "runtime: skipped: no runtime installed (entry-point group fusion.runtimes)"
        )
        return
    from fusion.schema import validate

    request = WrapRequest(
        ref=str(resolved.ref),
        sha256=item.sha256 or "",
        card=item.card,
        inputs={t.name: inputs[t.name] for t in item.card.inputs},
        outputs=outputs,
        seed=item.card.test_tensors.seed,
    )
    for name, runtime in runtimes.items():
        try:
            report = validate(runtime(request), level="data")
        except Exception as err:
            result.failures.append(
                f"runtime {name!r} failed to wrap the output: {type(err).__name__}: {err}"
            )
            continue
        if report.ok:
            result.passed.append(f"runtime {name}")
        else:
            shown = "; ".join(" ".join(str(f).split()) for f in report.errors[:3])
            result.failures.append(f"output wrapped by runtime {name!r} does not conform: {shown}")


def _save_outputs(produced: dict[str, Any], ref: str, outputs_dir: str | None, np: Any) -> str:
    folder = Path(outputs_dir or tempfile.mkdtemp(prefix="fusion-check-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (ref.replace(":", "-").replace("@", "-") + ".produced.npz")
    np.savez(path, **produced)
    return str(path)
