"""Turning a model's output arrays into a fused dataset, as its card says.

Each of the card's ``channels`` names an output tensor and a transform (``argmax`` over the
channel axis for label maps, ``identity`` for one-channel values). The result is one scale group
on (z, y, x) with coordinates in µm from the card's voxel size, a provenance entity for the model
(``model:name@version`` with the sha256 of the ONNX file that ran) and one activity (generate,
segment, ...) whose parameters hold the seed and where the model ran. Lazy channels (tiled
generation) are computed when the dataset is written, so their activity is marked to end then
(`fusion.schema.end_when_written`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema import end_when_written
from fusion.schema.provenance import add_activity, model_entity, new_root, now

__all__ = [
    "ACTIVITY_FOR_TASK",
    "ORIGIN_FOR_TASK",
    "WrapRequest",
    "channel_array",
    "wrap_for_check",
    "wrap_outputs",
]

ACTIVITY_FOR_TASK = {
    "generate-3d": "generate",
    "generate-2d": "generate",
    "segment-2d": "segment",
    "segment-3d": "segment",
    "super-resolve": "super-resolve",
    "inpaint": "inpaint",
}
ORIGIN_FOR_TASK = {"generate": "generated"}
"""Generated volumes are ``generated``; every other model output is ``inferred``."""


@dataclass(frozen=True)
class WrapRequest:
    """One run of a registered model: its identity, its card, and the arrays of the run."""

    ref: str
    """``model:name@version``."""
    sha256: str
    """SHA-256 of the ONNX file that ran (for the provenance record)."""
    card: Any
    inputs: Mapping[str, np.ndarray]
    outputs: Mapping[str, np.ndarray]
    seed: int | None = None
    """The seed the latent was drawn with, for generators."""


def channel_array(card: Any, channel: Any, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The (z, y, x) values of one card channel from the first item of the output batch."""
    tensor = next(t for t in card.outputs if t.name == channel.tensor)
    kinds = [axis.type for axis in tensor.axes]
    data = np.asarray(outputs[channel.tensor])
    if "batch" in kinds:
        data = np.take(data, 0, axis=kinds.index("batch"))
        kinds.remove("batch")
    if "channel" in kinds:
        axis = kinds.index("channel")
        if channel.transform == "argmax":
            data = np.argmax(data, axis=axis)
        elif data.shape[axis] == 1:
            data = np.take(data, 0, axis=axis)
        else:
            raise ValueError(
                f"channel {channel.name!r}: transform 'identity' needs a one-channel output, "
                f"{channel.tensor!r} has {data.shape[axis]}"
            )
    while data.ndim < 3:
        data = data[np.newaxis]  # a 2D output is a group with z of length 1
    return data.astype(channel.dtype, copy=False)


def wrap_outputs(
    request: Any,
    *,
    execution: Mapping[str, Any] | None = None,
    group: str | None = None,
    started: str | None = None,
    voxel_size_um: Sequence[float] | None = None,
    values: Mapping[str, Any] | None = None,
) -> xr.DataTree:
    """A fused dataset from one run of a registered model.

    Parameters
    ----------
    request
        A `WrapRequest`: the model reference, its sha256, its card, the inputs
        and the outputs of one run, and the seed.
    execution
        Where it ran (``Session.provenance()``), recorded in the activity's parameters.
    group
        Name of the scale group; ``generated`` for generators, ``inferred`` otherwise.
    started
        ISO start time of the run (now by default).
    voxel_size_um
        Voxel size (z, y, x) when the card has none (e.g. segmentation: the input's).
    values
        The (z, y, x) array of each card channel when the caller made them already (e.g. lazily,
        tile by tile, as dask arrays); by default they are taken from ``request.outputs``.

    Raises
    ------
    ValueError
        Neither the card nor the caller gives a voxel size: it is never invented.
    """
    card = request.card
    activity_type = ACTIVITY_FOR_TASK.get(card.task, "derive")
    origin = ORIGIN_FOR_TASK.get(activity_type, "inferred")
    group = group or ("generated" if activity_type == "generate" else "inferred")
    variables, shape, voxel = {}, None, None
    for channel in card.channels:
        data = (
            values[channel.name]
            if values is not None
            else channel_array(card, channel, request.outputs)
        )
        shape = shape or data.shape
        voxel = _voxel(channel, voxel_size_um, request.ref)
        variables[channel.name] = xr.Variable(("z", "y", "x"), data, _attrs(channel, origin))
    coords = {
        dim: xr.Variable(dim, step * np.arange(n, dtype=np.float64), {"units": "um"})
        for dim, n, step in zip(("z", "y", "x"), shape, voxel, strict=True)
    }
    ended = now()
    root = _root(
        request, activity_type, group, list(variables), execution or {}, started or ended, ended
    )
    tree = xr.DataTree.from_dict(
        {"/": xr.Dataset(attrs={"fusion": root}), f"/{group}": xr.Dataset(variables, coords)}
    )
    if any(variable.chunks is not None for variable in variables.values()):
        end_when_written(tree, "run-model")  # the model runs when the tiles are written
    return tree


def _voxel(channel: Any, override: Sequence[float] | None, ref: str) -> tuple[float, float, float]:
    value = override if override is not None else channel.voxel_size_um
    if value is None:
        raise ValueError(
            f"{ref}: the card gives channel {channel.name!r} no voxel_size_um and none was "
            "passed; a voxel size is never invented"
        )
    values = (float(value),) * 3 if np.isscalar(value) else tuple(float(v) for v in value)
    return values  # type: ignore[return-value]


def _attrs(channel: Any, origin: str) -> dict[str, Any]:
    attrs = {
        "long_name": channel.long_name,
        "units": channel.units,
        "modality": channel.modality,
        "origin": origin,
        "provenance": "run-model",
    }
    if channel.flag_values is not None:
        attrs["flag_values"] = list(channel.flag_values)
        attrs["flag_meanings"] = channel.flag_meanings
    return attrs


def _root(request, activity_type, group, names, execution, started, ended) -> dict[str, Any]:
    card = request.card
    parameters: dict[str, Any] = {**execution}
    if request.seed is not None:
        parameters["seed"] = int(request.seed)
    parameters["input_shapes"] = {k: list(np.shape(v)) for k, v in request.inputs.items()}
    training = card.training_data[0].description
    root = new_root(
        f"{card.task} output of {request.ref}",
        description=card.description,
        sample=f"as the training data of {request.ref}: {training}",
        created=ended,
    )
    add_activity(
        root,
        activity_type,
        activity_id="run-model",
        used=["model"],
        generated=[f"/{group}/{name}" for name in names],
        parameters=parameters,
        software="fusion-models",
        started=started,
        ended=ended,
        entities={"model": model_entity(request.ref, request.sha256)},
    )
    return root


def wrap_for_check(
    request: Any, inputs: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> xr.DataTree:
    """`wrap_outputs` of a registry entry's test tensors (``request``: a
    ``fusion.registry.CheckRequest``), as `fusion registry check` validates them. A
    segmentation card leaves the voxel size to the input it labels, and test tensors carry
    none, so such outputs are wrapped at 1 µm: the dataset is only validated (dtype, labels,
    provenance), never written or shown to a user."""
    card = request.card
    voxel = None
    if any(channel.voxel_size_um is None for channel in card.channels):
        voxel = (1.0, 1.0, 1.0)
    run = WrapRequest(
        ref=request.ref, sha256=request.sha256, card=card, inputs=inputs, outputs=outputs,
        seed=card.test_tensors.seed,
    )  # fmt: skip
    return wrap_outputs(run, voxel_size_um=voxel)
