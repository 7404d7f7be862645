"""The SliceGAN generator as an ONNX graph shaped for onnxruntime's CPU kernels (numpy + onnx only).

`torch.onnx.export` of `model.Generator` gives ConvTranspose → BatchNorm → Relu ×4, ConvTranspose,
Softmax. onnxruntime runs that graph slowly: its ConvTranspose is a GEMM followed by a col2im
scatter, and its Softmax over the channel axis (not the last one) transposes the whole volume
twice. This module writes the same function as a different graph:

1. **BatchNorm folded** into the weights: ``W'[:, o] = W[:, o]·γ_o/√(σ²_o+ε)``, bias
   ``β_o − μ_o·γ_o/√(σ²_o+ε)``.
2. **Each ConvTranspose (k = 4, s = 2, padding p) recast as a sub-pixel convolution**: an
   ordinary Conv on the *input* grid whose ``8·C_out`` output channels are the 2×2×2 output
   phases, then a depth-to-space shuffle (three Transposes that each move one phase axis
   inwards, between Reshapes; ONNX DepthToSpace is 2-D only in onnxruntime). Per axis, output voxel ``o = 2q + s`` of the transposed conv is
   ``Σ_i x[i]·W[o + p − 2i]``, so with ``m = q + ⌊(s+p)/2⌋`` and ``r = (s+p) mod 2`` it reads
   ``x[m]`` through tap ``r`` and ``x[m−1]`` through tap ``r+2``: a window of
   ``K = ⌊(p+1)/2⌋ − ⌊p/2⌋ + 2`` input cells (2 for even p, 3 for odd p) starting at
   ``⌊p/2⌋ − 1`` (0 for p = 2 and 3; larger p first crops that many cells from both ends of
   the input). The padding that crops edge voxels becomes a *valid* convolution: nothing
   is padded and nothing computed is thrown away. Odd ``p`` (the last layer, p = 3) is done as
   p − 1 (a 2-tap kernel, no wasted multiply-adds) with one voxel cropped from each side after
   the shuffle.
3. **Phases decided before the last shuffle**: the last conv's ``8·P`` channels are viewed as
   ``(P, 8·n)``; ``labels`` is their ArgMax over P (skipping the Softmax) cast to uint8, and
   ``probabilities`` a Softmax written as Exp/ReduceSum over that small axis; only then are
   they shuffled and cropped, so the shuffle moves 1 byte (labels) per voxel.

Every step is exact algebra; float results differ from the torch model by rounding only
(checked in the tests: labels identical, probabilities within 1e-5).

Multiply-adds per output voxel, for widths ``c_0 … c_5`` (16, 256, 128, 64, 32, 3), k = 4,
s = 2: a layer ``n`` (1-based) of input grid ``N/2^(6−n)`` per axis does ``c_{n−1}·c_n·k³``
multiply-adds per input cell, so per output voxel ``Σ_n c_{n−1}·c_n·64 / 8^(6−n)``
(`macs_per_voxel`); FLOPs are twice that. The sub-pixel form does exactly these products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "ARGMAX_KEY",
    "Layer",
    "build_reference_model",
    "build_runtime_model",
    "fold_batchnorm",
    "macs_per_voxel",
    "random_layers",
    "runtime_layers",
    "subpixel_kernel",
    "transposed_kernel",
]

OPSET = 17
IR_VERSION = 9
STRIDE = 2
KERNEL = 4
ARGMAX_KEY = "fusion.argmax_of"
"""ONNX metadata key: ``labels=probabilities`` says output ``labels`` is the argmax over the
channel axis of output ``probabilities``; the runtime asks for ``labels`` alone when the card
wants that argmax."""


@dataclass(frozen=True)
class Layer:
    """One transposed convolution with BatchNorm folded in.

    ``weight`` is torch's ConvTranspose3d layout (C_in, C_out, 4, 4, 4); ``bias`` (C_out,) or
    None; ``relu`` after it (all layers but the last).
    """

    weight: np.ndarray
    bias: np.ndarray | None
    padding: int
    relu: bool


def fold_batchnorm(
    weight: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """ConvTranspose weight (C_in, C_out, k, k, k) and BatchNorm (eval) → folded weight, bias."""
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    folded = weight.astype(np.float64) * scale[None, :, None, None, None]
    bias = beta.astype(np.float64) - mean.astype(np.float64) * scale
    return folded.astype(np.float32), bias.astype(np.float32)


def _taps(padding: int) -> tuple[np.ndarray, int]:
    """Per axis: T[s, t, k] = 1 if output phase s reads window tap t through kernel index k;
    and the window's start offset on the input grid."""
    start = padding // 2 - 1
    size = (padding + 1) // 2 - padding // 2 + 2
    taps = np.zeros((STRIDE, size, KERNEL), dtype=np.float64)
    for s in range(STRIDE):
        m, r = (s + padding) // STRIDE, (s + padding) % STRIDE
        taps[s, m - start, r] = 1.0  # x[m] through tap r
        taps[s, m - 1 - start, r + STRIDE] = 1.0  # x[m-1] through tap r + 2
    return taps, start


def subpixel_kernel(weight: np.ndarray, padding: int) -> tuple[np.ndarray, int]:
    """Conv weight ``(C_out·8, C_in, K, K, K)`` equal to a k=4, s=2 ConvTranspose3d with
    ``padding``, channel ``o·8 + 4·s_z + 2·s_y + s_x`` = output channel o at phase (s_z, s_y, s_x);
    and the window start offset (0 for p = 2 and 3).

    >>> w = np.random.default_rng(0).standard_normal((2, 3, 4, 4, 4))
    >>> k, start = subpixel_kernel(w, 2)
    >>> k.shape, start
    ((24, 2, 2, 2, 2), 0)
    >>> subpixel_kernel(w, 3)[0].shape
    (24, 2, 3, 3, 3)
    """
    taps, start = _taps(padding)
    # out[o, sz, sy, sx, i, tz, ty, tx] = Σ W[i, o, kz, ky, kx]·T[sz,tz,kz]·T[sy,ty,ky]·T[sx,tx,kx]
    kernel = np.einsum(
        "iOabc,zta,yub,xvc->Ozyxituv",
        weight.astype(np.float64),
        taps,
        taps,
        taps,
        optimize=True,
    )
    c_in, c_out, size = weight.shape[0], weight.shape[1], taps.shape[1]
    return kernel.reshape(c_out * 8, c_in, size, size, size).astype(np.float32), start


def transposed_kernel(kernel: np.ndarray, padding: int) -> np.ndarray:
    """The inverse of `subpixel_kernel`: the k=4, s=2 ConvTranspose3d weight
    ``(C_in, C_out, 4, 4, 4)`` that a sub-pixel Conv weight ``(C_out·8, C_in, K, K, K)`` was
    built from. Each kernel index is read through exactly one (phase, tap) pair per axis, so
    this is a gather and exact.

    >>> w = np.random.default_rng(0).standard_normal((2, 3, 4, 4, 4)).astype(np.float32)
    >>> bool(np.array_equal(transposed_kernel(subpixel_kernel(w, 2)[0], 2), w))
    True
    """
    taps, _ = _taps(padding)
    if not np.array_equal(taps.sum(axis=(0, 1)), np.ones(KERNEL)):  # every index read once
        raise ValueError(f"padding {padding}: the sub-pixel taps do not cover the kernel once")
    c_in, size = kernel.shape[1], taps.shape[1]
    c_out = kernel.shape[0] // 8
    if kernel.shape != (c_out * 8, c_in, size, size, size):
        raise ValueError(
            f"sub-pixel kernel {kernel.shape} does not fit padding {padding} "
            f"(expected (8·C_out, C_in, {size}, {size}, {size}))"
        )
    split = kernel.astype(np.float64).reshape(c_out, 2, 2, 2, c_in, size, size, size)
    weight = np.einsum("Ozyxituv,zta,yub,xvc->iOabc", split, taps, taps, taps, optimize=True)
    return weight.astype(np.float32)


def runtime_layers(model: onnx.ModelProto, paddings: Sequence[int]) -> list[Layer]:
    """The folded layers of a graph written by `build_runtime_model`, read back from its Conv
    nodes in order (``paddings``: the generator's, one per layer; the last, odd one was built
    as p − 1). The inverse of the weight part of `build_runtime_model`, for a warm start."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    if len(convs) != len(paddings):
        raise ValueError(
            f"the graph has {len(convs)} Conv nodes, the generator {len(paddings)} layers: "
            "not a sub-pixel SliceGAN export of this shape"
        )
    layers = []
    for n, (node, padding) in enumerate(zip(convs, paddings, strict=True)):
        last = n == len(convs) - 1
        built = padding - 1 if (last and padding % 2) else padding
        if built // 2 - 1:  # p ≥ 4 slices the input first; no generator here uses it
            raise ValueError(f"layer {n}: padding {padding} is not read back (only 2 and 3)")
        weight = transposed_kernel(inits[node.input[1]], built)
        bias = inits[node.input[2]][::8].copy() if len(node.input) > 2 else None
        layers.append(Layer(weight, bias, int(padding), relu=not last))
    return layers


def macs_per_voxel(widths: Sequence[int], kernel: int = KERNEL, stride: int = STRIDE) -> float:
    """Multiply-adds per output voxel of the transposed-conv generator (large-volume limit).

    >>> macs_per_voxel((16, 256, 128, 64, 32, 3))
    4360.0
    """
    layers = len(widths) - 1
    return float(
        sum(
            widths[n] * widths[n + 1] * kernel**3 / stride ** (3 * (layers - n))
            for n in range(layers)
        )
    )


def random_layers(
    widths: Sequence[int], paddings: Sequence[int], seed: int = 0, scale: float = 1.0
) -> list[Layer]:
    """Random folded layers of a generator (He-like scale), e.g. for tests and benchmarks."""
    rng = np.random.default_rng(seed)
    layers = []
    for n, p in enumerate(paddings):
        c_in, c_out = widths[n], widths[n + 1]
        std = scale * np.sqrt(2.0 / (c_in * 8))  # each output sums 8 taps per input channel
        weight = (rng.standard_normal((c_in, c_out, 4, 4, 4)) * std).astype(np.float32)
        last = n == len(paddings) - 1
        bias = None if last else (0.1 * rng.standard_normal(c_out)).astype(np.float32)
        layers.append(Layer(weight, bias, int(p), relu=not last))
    return layers


# --------------------------------------------------------------------------------------------------
# Graph building


class _Graph:
    """A small helper that names nodes and initialisers as it adds them."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value: np.ndarray, stem: str = "c") -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], out: str | None = None, **attrs) -> str:
        out = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def _shuffle(g: _Graph, x: str, channels: int, channel_axis: bool, out: str | None = None) -> str:
    """Depth-to-space of ``(B, C·8, Qz, Qy, Qx)`` (phase fastest) → ``(B, C, 2Qz, 2Qy, 2Qx)``.

    With ``channel_axis=False`` the input is ``(B, 8, Qz, Qy, Qx)`` → ``(B, 2Qz, 2Qy, 2Qx)``.
    Done as three Transposes that each move one axis (x, then y, then z phase) inwards:
    onnxruntime copies those in contiguous runs, about 6× faster on large volumes than the
    one 8-D Transpose it walks element by element.
    """
    shape = g.op("Shape", [x])
    qz, qy, qx = (
        g.op("Slice", [shape, g.const(np.array([a])), g.const(np.array([a + 1]))])
        for a in (2, 3, 4)
    )
    two = g.const(np.array([2]))
    rest = g.const(np.array([-1]))

    def reshape(y: str, *dims: str, name: str | None = None) -> str:
        return g.op("Reshape", [y, g.op("Concat", list(dims), axis=0)], name)

    y = reshape(x, rest, two, qz, qy, qx)  # (B·C·2·2, sx, Qz, Qy, Qx)
    y = g.op("Transpose", [y], perm=[0, 2, 3, 4, 1])  # (…, Qz, Qy, Qx, sx)
    x2 = g.op("Mul", [qx, two])
    y = reshape(y, rest, two, qz, qy, x2)  # (B·C·2, sy, Qz, Qy, 2Qx)
    y = g.op("Transpose", [y], perm=[0, 2, 3, 1, 4])  # (…, Qz, Qy, sy, 2Qx)
    y = reshape(y, rest, two, qz, g.op("Mul", [g.op("Mul", [qy, two]), x2]))  # (B·C, sz, Qz, …)
    y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (B·C, Qz, sz, 2Qy·2Qx)
    head = [rest, g.const(np.array([channels]))] if channel_axis else [rest]
    return reshape(y, *head, g.op("Mul", [qz, two]), g.op("Mul", [qy, two]), x2, name=out)


def _crop(g: _Graph, x: str, first_axis: int, out: str | None = None) -> str:
    """Drop one voxel from both ends of the three space axes starting at ``first_axis``."""
    axes = g.const(np.array([first_axis, first_axis + 1, first_axis + 2]))
    starts = g.const(np.array([1, 1, 1]))
    ends = g.const(np.array([-1, -1, -1]))
    return g.op("Slice", [x, starts, ends, axes], out)


def build_runtime_model(
    layers: Sequence[Layer],
    outputs: Sequence[str] = ("probabilities", "labels"),
    labels_dtype: str = "uint8",
) -> onnx.ModelProto:
    """The generator as a sub-pixel ONNX graph: input ``latent`` (B, nz, lz, ly, lx); outputs
    any of ``probabilities`` (B, P, Z, Y, X) float32 and ``labels`` (B, Z, Y, X) uint8, in the
    order given (probabilities first by default: code that reads output 0 as the
    probabilities of the plain export keeps working)."""
    g = _Graph()
    x = "latent"
    crop = False
    for n, layer in enumerate(layers):
        padding = layer.padding
        if padding % 2:  # odd p: the p − 1 kernel, then one voxel off each side
            if n != len(layers) - 1:
                raise ValueError(f"layer {n}: odd padding {padding} only on the last layer")
            padding, crop = padding - 1, True
        kernel, start = subpixel_kernel(layer.weight, padding)
        if start:
            ax = g.const(np.array([2, 3, 4]))
            # p ≥ 4: the outermost ⌊p/2⌋ − 1 input cells of each side inform only cropped voxels
            starts, ends = g.const(np.array([start] * 3)), g.const(np.array([-start] * 3))
            x = g.op("Slice", [x, starts, ends, ax])
        c_out = layer.weight.shape[1]
        inputs = [x, g.const(kernel, "w")]
        if layer.bias is not None:
            inputs.append(g.const(np.repeat(layer.bias, 8).astype(np.float32), "b"))
        x = g.op("Conv", inputs, g.name(f"conv{n}"))
        if layer.relu:
            x = g.op("Relu", [x])
        if n < len(layers) - 1:
            x = _shuffle(g, x, c_out, channel_axis=True)
    phases = layers[-1].weight.shape[1]
    # (B, P·8, Qz, Qy, Qx) → (B, P, 8·Qz, Qy, Qx): the phases on their own axis, the sub-pixel
    # phases folded into z (a free view: channel o·8 + s is contiguous)
    shape = g.op("Shape", [x])
    space = g.op("Slice", [shape, g.const(np.array([2])), g.const(np.array([5]))])
    qz = g.op("Slice", [shape, g.const(np.array([2])), g.const(np.array([3]))])
    tail = g.op("Slice", [shape, g.const(np.array([3])), g.const(np.array([5]))])
    eight_qz = g.op("Mul", [qz, g.const(np.array([8]))])
    logits = g.op(
        "Reshape", [x, g.op("Concat", [g.const(np.array([-1, phases])), eight_qz, tail], axis=0)]
    )
    label_type = helper.np_dtype_to_tensor_dtype(np.dtype(labels_dtype))
    if "labels" in outputs:
        best = g.op("ArgMax", [logits], axis=1, keepdims=0)  # (B, 8·Qz, Qy, Qx) int64
        best = g.op("Cast", [best], to=label_type)
        split = g.op("Concat", [g.const(np.array([-1, 8])), space], axis=0)
        labels = g.op("Reshape", [best, split])  # (B, 8, Qz, Qy, Qx)
        labels = _shuffle(g, labels, 1, channel_axis=False, out=None if crop else "labels")
        if crop:
            _crop(g, labels, 1, "labels")
    if "probabilities" in outputs:
        top = g.op("ReduceMax", [logits], axes=[1], keepdims=1)
        e = g.op("Exp", [g.op("Sub", [logits, top])])
        total = g.op("ReduceSum", [e, g.const(np.array([1]))], keepdims=1)
        probs = g.op("Reshape", [g.op("Div", [e, total]), shape])  # (B, P·8, Qz, Qy, Qx)
        probs = _shuffle(g, probs, phases, True, out=None if crop else "probabilities")
        if crop:
            _crop(g, probs, 2, "probabilities")
    declared = {
        "labels": helper.make_tensor_value_info("labels", label_type, ["batch", "z", "y", "x"]),
        "probabilities": helper.make_tensor_value_info(
            "probabilities", TensorProto.FLOAT, ["batch", phases, "z", "y", "x"]
        ),
    }
    nz = layers[0].weight.shape[0]
    model = _model(g, "slicegan-subpixel", nz, [declared[name] for name in outputs])
    if "labels" in outputs and "probabilities" in outputs:
        helper.set_model_props(model, {ARGMAX_KEY: "labels=probabilities"})
    return model


def _model(
    g: _Graph, name: str, nz: int, outputs: Sequence[onnx.ValueInfoProto]
) -> onnx.ModelProto:
    latent = helper.make_tensor_value_info(
        "latent", TensorProto.FLOAT, ["batch", nz, "lz", "ly", "lx"]
    )
    graph = helper.make_graph(g.nodes, name, [latent], list(outputs), g.inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    onnx.checker.check_model(model)
    return model


def build_reference_model(layers: Sequence[Layer]) -> onnx.ModelProto:
    """The plain form (ConvTranspose → Add bias → Relu …, Softmax), as torch exports it with
    BatchNorm folded: the reference the sub-pixel graph must equal."""
    g = _Graph()
    x = "latent"
    for layer in layers:
        inputs = [x, g.const(layer.weight, "w")]
        if layer.bias is not None:
            inputs.append(g.const(layer.bias, "b"))
        p = layer.padding
        x = g.op(
            "ConvTranspose", inputs, kernel_shape=[KERNEL] * 3, strides=[STRIDE] * 3, pads=[p] * 6
        )
        if layer.relu:
            x = g.op("Relu", [x])
    g.op("Softmax", [x], "probabilities", axis=1)
    phases = layers[-1].weight.shape[1]
    probs = helper.make_tensor_value_info(
        "probabilities", TensorProto.FLOAT, ["batch", phases, "z", "y", "x"]
    )
    return _model(g, "slicegan-reference", layers[0].weight.shape[0], [probs])
