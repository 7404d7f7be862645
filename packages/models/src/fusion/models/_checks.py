"""The checks an ONNX model task runs on a registry entry (`fusion registry check`).

`check_onnx_entry` is the pipeline the tasks of this package share: the ONNX file passes
``onnx.checker`` (full check), embeds its weights, loads in onnxruntime (CPU), and its inputs
and outputs are the card's; the test tensors have the card's names, dtypes and shape rules
(plus the task's own rules, e.g. a generator's latent is what the seed draws); the outputs
reproduce within the card's tolerance (else they are saved for diagnosis); and the outputs,
wrapped into the format as the task wraps them, validate at level ``data``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_onnx_entry", "onnx_problems"]

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

Arrays = Mapping[str, np.ndarray]
TensorRule = Callable[[Any, Arrays], list[str]]
"""``rule(card, tensors) -> problems``: a task's own rules for its test tensors."""
Wrap = Callable[[Any, Arrays, Arrays], Any]
"""``wrap(request, inputs, outputs) -> DataTree``: the outputs as the task writes them."""


def check_onnx_entry(
    request: Any, result: Any, *, tensor_rules: TensorRule | None = None, wrap: Wrap | None = None
) -> None:
    """Run the shared checks on one entry, recording them in ``result``.

    Parameters
    ----------
    request
        A ``fusion.registry.CheckRequest`` (verified artifact and test tensors, the card).
    result
        The entry's ``fusion.registry.EntryResult``.
    tensor_rules
        The task's extra rules for the test tensors.
    wrap
        Turns the test inputs and outputs into a dataset, which must conform (level ``data``).
    """
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        result.skipped.append(f"onnx: {err.name} is not installed (fusion-models[check])")
        return
    session = _onnx_session(result, request.artifact, request.card)
    if session is None:
        return
    tensors = _test_tensors(result, request, tensor_rules)
    if tensors is None:
        return
    produced = _reproduce(result, request, session, tensors)
    if produced is None:
        return
    result.passed.append("test tensors")
    if wrap is not None:
        inputs = {t.name: tensors[t.name] for t in request.card.inputs}
        _output_conforms(result, lambda: wrap(request, inputs, produced))


def onnx_problems(card: Any, session: Any) -> list[str]:
    """Where the session's inputs and outputs differ from the card's (names, dtypes, ranks)."""
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
    return problems


def _one_line(err: BaseException, limit: int | None = None) -> str:
    return " ".join(str(err).split())[:limit]


def _onnx_session(result: Any, path: Path, card: Any) -> Any:
    import onnx
    import onnxruntime

    try:
        model = onnx.load(str(path), load_external_data=False)
        external = [
            t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
        ]
        if external:
            raise ValueError(f"weights in external files ({', '.join(external[:3])}); embed them")
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:
        result.failures.append(f"bad ONNX: {_one_line(err, 500)}")
        return None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:
        result.failures.append(f"bad ONNX: onnxruntime cannot load it: {_one_line(err, 500)}")
        return None
    problems = onnx_problems(card, session)
    if problems:
        result.failures.append("ONNX does not match the card: " + "; ".join(problems))
        return None
    result.passed.append("onnx")
    return session


def _test_tensors(
    result: Any, request: Any, tensor_rules: TensorRule | None
) -> dict[str, np.ndarray] | None:
    from fusion.registry import shape_problems

    card = request.card
    try:
        with np.load(request.test_tensors, allow_pickle=False) as npz:
            tensors = {k: npz[k] for k in npz.files}
    except Exception as err:
        result.failures.append(f"test tensors unreadable: {_one_line(err)}")
        return None
    declared = (*card.inputs, *card.outputs)
    names = {t.name for t in declared}
    problems = []
    if set(tensors) != names:
        problems.append(f"arrays {sorted(tensors)}, the card's tensors are {sorted(names)}")
    else:
        problems += [
            f"{t.name!r} is {tensors[t.name].dtype}, the card says {t.dtype}"
            for t in declared
            if str(tensors[t.name].dtype) != t.dtype
        ]
        problems += shape_problems(card, {k: v.shape for k, v in tensors.items()})
        if tensor_rules is not None:
            problems += tensor_rules(card, tensors)
    if problems:
        result.failures.append("test tensors do not fit the card: " + "; ".join(problems))
        return None
    return tensors


def _reproduce(
    result: Any, request: Any, session: Any, tensors: Arrays
) -> dict[str, np.ndarray] | None:
    from fusion.registry import compare, shape_problems

    card = request.card
    try:
        values = session.run(None, {t.name: tensors[t.name] for t in card.inputs})
    except Exception as err:
        result.failures.append(f"test tensors: onnxruntime failed to run: {_one_line(err)}")
        return None
    produced = dict(zip([o.name for o in session.get_outputs()], values, strict=True))
    problems = shape_problems(card, {k: v.shape for k, v in produced.items()})
    tolerance = card.test_tensors.tolerance
    problems += [
        p
        for t in card.outputs
        if (p := compare(t.name, produced[t.name], tensors[t.name], tolerance))
    ]
    if problems:
        saved = _save_outputs(produced, request.ref, request.outputs_dir)
        result.failures.append(
            f"test tensors not reproduced: {'; '.join(problems)} (outputs saved to {saved})"
        )
        return None
    return produced


def _output_conforms(result: Any, wrap: Callable[[], Any]) -> None:
    from fusion.schema import validate

    try:
        report = validate(wrap(), level="data")
    except Exception as err:
        result.failures.append(f"the output failed to wrap: {type(err).__name__}: {err}")
        return
    if report.ok:
        result.passed.append("output conforms")
    else:
        shown = "; ".join(" ".join(str(f).split()) for f in report.errors[:3])
        result.failures.append(f"the wrapped output does not conform: {shown}")


def _save_outputs(produced: Arrays, ref: str, outputs_dir: str | None) -> str:
    folder = Path(outputs_dir or tempfile.mkdtemp(prefix="fusion-check-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (ref.replace(":", "-").replace("@", "-") + ".produced.npz")
    np.savez(path, **produced)
    return str(path)
