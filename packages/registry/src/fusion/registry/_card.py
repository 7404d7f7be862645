"""Model cards and dataset cards: what a registered artifact is, promises and was made from.

A model card states the model's contract: the task; every input and output with named,
typed axes and the rule for each axis size; for generators, the latent distribution and how
the seed becomes the latent; the channel each output becomes in the fusion format; the
training data, metrics, licence, authors and citation; and test tensors that
`fusion registry check` reruns within a stated tolerance.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, StringConstraints
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from ._base import Artifact, NonEmptyStr, RegistryModel, Sha256

__all__ = [
    "DTYPES",
    "Author",
    "Axis",
    "Citation",
    "DatasetCard",
    "LatentSpec",
    "Metric",
    "ModelCard",
    "OutputChannel",
    "ParameterizedSize",
    "Preprocessing",
    "PreprocessingStep",
    "SizeReference",
    "TaskName",
    "TensorDescr",
    "TestTensors",
    "Tolerance",
    "TrainingData",
]

TaskName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)
]
"""A card task: lower-case words joined by ``-`` (``generate-3d``, ``super-resolve-3d``)."""
DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "bool",
)

TensorName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,63}$")]
AxisName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
ChannelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Spdx = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")
]
Orcid = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")]
Doi = Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")]


class ParameterizedSize(RegistryModel):
    """Any size ``min + n·step`` for n = 0, 1, 2, ..."""

    min: PositiveInt
    step: PositiveInt


class SizeReference(RegistryModel):
    """A size computed from another axis: ``scale · size(tensor.axis) + offset``.

    SliceGAN: the output's ``z`` is ``32 · (latent z − 2)``, so ``scale: 32, offset: -64``.
    """

    tensor: TensorName
    axis: AxisName
    scale: PositiveFloat = 1.0
    offset: int = 0


class Axis(RegistryModel):
    """One named axis of a tensor."""

    name: AxisName
    """Axis name, e.g. ``b``, ``c``, ``z``, ``y``, ``x``."""
    type: Literal["batch", "channel", "space"]
    """batch: independent samples; channel: features or classes; space: a spatial axis."""
    size: PositiveInt | ParameterizedSize | SizeReference | None = None
    """A fixed size, a parameterised size, a reference to another axis, or null for any."""
    channel_names: list[NonEmptyStr] | None = None
    """Channel axes, optional: one name per channel, e.g. ``[pore, NMC, CBD]``."""


class TensorDescr(RegistryModel):
    """An input or output tensor of the model, as the ONNX graph names it."""

    name: TensorName
    """The ONNX input or output name."""
    description: NonEmptyStr
    dtype: Literal[DTYPES]  # type: ignore[valid-type]
    axes: list[Axis] = Field(min_length=1)
    """Axes in memory order."""

    @_model_validator(mode="after")
    def _axes_are_distinct(self) -> TensorDescr:
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise PydanticCustomError(
                "card_axes", "axis names must be unique, but got {names}", {"names": names}
            )
        for kind in ("batch", "channel"):
            if sum(a.type == kind for a in self.axes) > 1:
                raise PydanticCustomError(
                    "card_axes",
                    "at most one {kind} axis, but got {names}",
                    {"kind": kind, "names": names},
                )
        return self

    def axis(self, name: str) -> Axis | None:
        """The axis called ``name``, or None."""
        return next((a for a in self.axes if a.name == name), None)


class LatentSpec(RegistryModel):
    """How a generator's noise input is drawn from a seed, so that a seed reproduces a volume.

    ``numpy-pcg64``: ``rng = numpy.random.default_rng(seed)`` (PCG64), then
    ``rng.standard_normal(shape, dtype=float32)`` for ``standard-normal`` or
    ``rng.random(shape, dtype=float32)`` (uniform on [0, 1)) for ``uniform``; ``shape`` is
    the full input shape, batch included. The latent is drawn whole, so its size is bounded
    (`fusion.registry.LATENT_WHOLE_LIMIT`).

    ``numpy-philox-blocks``: counter-based, so any window of the latent can be drawn alone and
    a volume of any size streams. The input's axes are batch and channel, then one to three
    space axes; the space axes are cut into blocks of B = `fusion.registry.LATENT_BLOCK` cells
    per axis, counted from 0. Block ``(i, j, k)`` is drawn as above from
    ``numpy.random.Generator(numpy.random.Philox(key=seed, counter=[0, i, j, k]))`` (unused
    block indices 0) with shape ``(batch, channel, B, …)`` (B per space axis), and the latent is the blocks
    side by side, cut to the input's shape. A cell's value depends only on the seed and its position: the same seed
    gives the same latent whatever the tiling, and a larger latent extends a smaller one. The
    seed must be in [0, 2¹²⁸). See ``fusion.registry.draw_latent``.
    """

    tensor: TensorName
    """The input that receives the noise."""
    distribution: Literal["standard-normal", "uniform"]
    rng: Literal["numpy-pcg64", "numpy-philox-blocks"] = "numpy-pcg64"
    """The bit generator and recipe above."""


class OutputChannel(RegistryModel):
    """The channel an output becomes in a fused dataset (its attributes, per the format)."""

    tensor: TensorName
    """The output tensor it comes from."""
    name: ChannelName
    """Variable name in the scale group, e.g. ``phase``."""
    transform: Literal["argmax", "identity"]
    """argmax: the index of the largest value along the channel axis (labels); identity: the
    values as they are, channel axis (if any) kept."""
    dtype: Literal[DTYPES]  # type: ignore[valid-type]
    """dtype of the channel in the dataset, e.g. ``uint8`` for labels."""
    long_name: NonEmptyStr
    units: NonEmptyStr
    """A unit of the format's vocabulary (``1`` for labels); `fusion registry check` checks it."""
    modality: NonEmptyStr
    """The technique the values emulate or come from, from the format's vocabulary."""
    flag_values: list[int] | None = None
    """Label channels: the integer values (CF), e.g. ``[0, 1, 2]``."""
    flag_meanings: str | None = None
    """Label channels: one word per value, e.g. ``pore NMC CBD``."""
    voxel_size_um: PositiveFloat | tuple[PositiveFloat, PositiveFloat, PositiveFloat] | None = None
    """Voxel size of the output (z, y, x; one number if isotropic) in µm. Required for
    generators; null means the input's voxel size scaled by the shape rule."""


class ScaleRange(RegistryModel):
    """Map each image's ``min_percentile`` and ``max_percentile`` (over all its pixels, the whole
    image, never a tile) to 0 and 1: ``(x − p_lo) / (p_hi − p_lo)``, numpy's linear percentiles."""

    op: Literal["scale_range"]
    min_percentile: float = Field(default=0.0, ge=0, lt=100)
    max_percentile: float = Field(default=100.0, gt=0, le=100)

    @_model_validator(mode="after")
    def _ordered(self) -> ScaleRange:
        if self.min_percentile >= self.max_percentile:
            raise _card_error(
                "expected min_percentile < max_percentile, but got {v}",
                [self.min_percentile, self.max_percentile],
            )
        return self


class ScaleLinear(RegistryModel):
    """A fixed affine map ``x · gain + offset`` (e.g. 8-bit grey values to [0, 1])."""

    op: Literal["scale_linear"]
    gain: float = 1.0
    offset: float = 0.0


class Clip(RegistryModel):
    """Clip values to ``[min, max]``."""

    op: Literal["clip"]
    min: float
    max: float

    @_model_validator(mode="after")
    def _ordered(self) -> Clip:
        if self.min >= self.max:
            raise _card_error("expected min < max, but got {v}", [self.min, self.max])
        return self


PreprocessingStep = Annotated[ScaleRange | ScaleLinear | Clip, Field(discriminator="op")]


class Preprocessing(RegistryModel):
    """How a user's data becomes one input tensor: steps applied in order, in float32.

    The model was trained on data prepared the same way, so the runtime applies exactly these
    steps (``fusion segment`` does, per whole image, before tiling).
    """

    tensor: TensorName
    """The input the steps prepare."""
    steps: list[PreprocessingStep] = Field(min_length=1)


class TrainingData(RegistryModel):
    """A dataset the model was trained on."""

    uri: NonEmptyStr
    """URL, DOI or ``dataset:name@version`` of the data."""
    sha256: Sha256 | None = None
    """SHA-256 of the file that was used, when it is one file."""
    description: NonEmptyStr
    """What it is: technique, material, size, voxel size, segmentation."""


class Metric(RegistryModel):
    """A number measured on the model's output."""

    name: NonEmptyStr
    """e.g. ``phase-fraction-abs-error-NMC`` or ``two-point-correlation-rmse``."""
    value: float
    unit: NonEmptyStr = "1"
    description: NonEmptyStr
    """How it was measured: on what data, how many samples, which seed."""


class Author(RegistryModel):
    name: NonEmptyStr
    affiliation: str | None = None
    orcid: Orcid | None = None


class Citation(RegistryModel):
    text: NonEmptyStr
    doi: Doi | None = None
    url: str | None = None


class Tolerance(RegistryModel):
    """When an output reproduces: ``|got − expected| ≤ atol + rtol·|expected|`` for all but at
    most ``mismatched_ppm`` elements per million (labels: set rtol = atol = 0 and allow a
    few ppm)."""

    rtol: NonNegativeFloat = 1e-4
    atol: NonNegativeFloat = 1e-5
    mismatched_ppm: float = Field(default=0.0, ge=0, le=1e6)


class TestTensors(Artifact):
    """An ``.npz`` (no pickle) with one array per input and per output, keyed by tensor name."""

    __test__ = False  # not a pytest class

    seed: int | None = Field(default=None, ge=0)
    """Generators: the seed the latent input was drawn with (see ``latent``)."""
    tolerance: Tolerance = Tolerance()


class ModelCard(RegistryModel):
    """The card of a registered model. Weights are ONNX only: no pickle anywhere."""

    description: NonEmptyStr
    task: TaskName
    """What the model does, e.g. ``generate-3d`` or ``segment-2d``: lower-case words joined by
    ``-``. The task installed under this name (entry-point group ``fusion.tasks``) holds the
    task's card rules (a generator needs ``latent``, ...) and checks the model."""
    inputs: list[TensorDescr] = Field(min_length=1)
    outputs: list[TensorDescr] = Field(min_length=1)
    latent: LatentSpec | None = None
    """Generators (``generate-*``): how the seed becomes the noise input (its tensor must be
    an input; whether the task needs one is the task's rule)."""
    channels: list[OutputChannel] = Field(min_length=1)
    """The channels the outputs become in a fused dataset."""
    preprocessing: list[Preprocessing] = Field(default_factory=list)
    """Data inputs (not a latent): how an image is normalised before it enters the model."""
    training_data: list[TrainingData] = Field(min_length=1)
    metrics: list[Metric] = Field(default_factory=list)
    license: Spdx
    """SPDX identifier of the weights' licence, e.g. ``MIT`` or ``CC-BY-4.0``."""
    authors: list[Author] = Field(min_length=1)
    citation: list[Citation] = Field(min_length=1)
    test_tensors: TestTensors

    def tensor(self, name: str) -> TensorDescr | None:
        """The input or output called ``name``, or None."""
        return next((t for t in (*self.inputs, *self.outputs) if t.name == name), None)

    @_model_validator(mode="after")
    def _references_resolve(self) -> ModelCard:
        names = [t.name for t in (*self.inputs, *self.outputs)]
        if len(set(names)) != len(names):
            raise _card_error(
                "tensor names must be unique across inputs and outputs, got {v}", names
            )
        inputs = {t.name for t in self.inputs}
        for tensor in (*self.inputs, *self.outputs):
            for axis in tensor.axes:
                ref = axis.size
                if not isinstance(ref, SizeReference):
                    continue
                target = self.tensor(ref.tensor)
                if ref.tensor not in inputs or target is None or target.axis(ref.axis) is None:
                    raise _card_error(
                        "size of {v} refers to an axis that is not an input's axis",
                        f"{tensor.name}.{axis.name} -> {ref.tensor}.{ref.axis}",
                    )
        latent = self.latent.tensor if self.latent is not None else None
        if latent is not None and latent not in inputs:
            raise _card_error("latent tensor {v} is not an input", latent)
        prepared = [p.tensor for p in self.preprocessing]
        for tensor in prepared:
            if tensor not in inputs or tensor == latent:
                raise _card_error("preprocessing names {v}, which is not a data input", tensor)
        if len(set(prepared)) != len(prepared):
            raise _card_error("preprocessing names an input twice: {v}", prepared)
        outputs = {t.name: t for t in self.outputs}
        for channel in self.channels:
            if channel.tensor not in outputs:
                raise _card_error("channel's tensor {v} is not an output", channel.tensor)
            if channel.transform == "argmax" and not any(
                a.type == "channel" for a in outputs[channel.tensor].axes
            ):
                raise _card_error("argmax needs a channel axis, and {v} has none", channel.tensor)
        return self

    @_model_validator(mode="after")
    def _blocks_latent_axes(self) -> ModelCard:
        """A ``numpy-philox-blocks`` latent is (batch, channel, 1 to 3 space axes)."""
        latent = self.tensor(self.latent.tensor) if self.latent is not None else None
        if latent is None or self.latent.rng != "numpy-philox-blocks":
            return self
        kinds = [axis.type for axis in latent.axes]
        space = kinds[2:]
        if kinds[:2] != ["batch", "channel"] or set(space) != {"space"} or len(space) > 3:
            raise _card_error(
                "a numpy-philox-blocks latent has axes batch, channel, then 1 to 3 space axes; {v}",
                f"{latent.name} has " + ", ".join(kinds),
            )
        return self


def _card_error(template: str, value: object) -> PydanticCustomError:
    return PydanticCustomError("card_invalid", template, {"v": value})


class DatasetCard(RegistryModel):
    """The card of a registered dataset."""

    description: NonEmptyStr
    format: Annotated[str, StringConstraints(pattern=r"^fusion/\d+\.\d+$")]
    """The format version the dataset conforms to, e.g. ``fusion/0.1``."""
    layout: Literal["zarr-zip"] = "zarr-zip"
    """How the Zarr store is packed: ``zarr-zip``, one zip file of the store, opened in place
    (``zarr.storage.ZipStore``), never extracted."""
    license: Spdx
    authors: list[Author] = Field(default_factory=list)
    citation: list[Citation] = Field(default_factory=list)
    source: str | None = None
    """How the data was made or where it comes from."""
