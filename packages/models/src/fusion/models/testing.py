"""Builders for test suites that run models: a tiny ONNX generator and 2D segmenter with their
cards and test tensors, and a registry holding both (``from fusion.models.testing import
tiny_generator``). They need ``fusion-models[check]`` (onnx) and onnxruntime.

The registry files and cards they write come from `fusion.registry.testing`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from fusion.registry.testing import sha, tiny_card, write_registry

__all__ = ["tiny_generator", "tiny_model_registry", "tiny_segmenter"]


def tiny_model_registry(folder: Path, generator: str = "tiny", segmenter: str = "tinyseg") -> Path:
    """A registry file in ``folder`` holding `tiny_generator` and `tiny_segmenter` (version
    0.1.0 each, under the names given); return its path."""
    models = {
        generator: {"0.1.0": tiny_generator(folder / "gen")},
        segmenter: {"0.1.0": tiny_segmenter(folder / "seg")},
    }
    return write_registry(folder / "registry.yaml", models=models)


def tiny_generator(folder: Path, seed: int = 7, latent_rng: str = "numpy-pcg64") -> dict[str, Any]:
    """A toy 3D generator as ONNX, its test tensors and its card; return the model version entry.

    latent z (b, 2, l, l, l), l ≥ 3 → Conv3d (kernel 3, no padding) → Softmax over 3 classes
    → probs (b, 3, l−2, l−2, l−2). Written with onnx.helper (IR 9, opset 17). ``latent_rng``
    is the card's latent rng (`fusion.registry.LatentSpec`).
    """
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    from fusion.registry import LatentSpec, draw_latent

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((3, 2, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["z", "W", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "tiny-generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", 2, "l", "l", "l"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["b", 3, "m", "m", "m"])],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "tiny.onnx"
    onnx.save(model, onnx_path)

    spec = LatentSpec(tensor="z", distribution="standard-normal", rng=latent_rng)
    z = draw_latent(spec, (1, 2, 5, 5, 5), seed)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {"z": z})
    npz_path = folder / "tiny-test.npz"
    np.savez(npz_path, z=z, probs=probs)
    rel = os.path.relpath(folder, folder.parent)
    card = tiny_card(f"{rel}/tiny-test.npz", sha(npz_path), npz_path.stat().st_size, seed)
    card["latent"]["rng"] = latent_rng
    return {
        "url": f"{rel}/tiny.onnx",
        "sha256": sha(onnx_path),
        "size": onnx_path.stat().st_size,
        "card": card,
    }


def tiny_segmenter(folder: Path, radius: int = 2, step: int = 16) -> dict[str, Any]:
    """A toy 2D segmenter as ONNX, its test tensors and its card; return the model version entry.

    image (b, 1, H, W), H and W multiples of ``step`` → ``radius`` 3x3 convolutions (zero
    padding, ReLU between; 8 channels, then 3) → logits (b, 3, H, W): each pixel's logits depend
    on the pixels within ``radius`` of it. The card normalises inputs by their 0.5 and 99.5
    percentiles, clipped to [0, 1]. Written with onnx.helper (IR 9, opset 17).
    """
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    widths = [1, *([8] * (radius - 1)), 3]
    nodes, weights, current = [], [], "image"
    for i, (cin, cout) in enumerate(itertools.pairwise(widths)):
        w = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32) * 2
        b = rng.standard_normal(cout).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        out = "logits" if i == len(widths) - 2 else f"h{i}"
        nodes.append(helper.make_node("Conv", [current, f"W{i}", f"B{i}"], [out], pads=[1] * 4))
        if out != "logits":
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            out = f"r{i}"
        current = out
    graph = helper.make_graph(
        nodes,
        "tiny-segmenter",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["b", 1, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 3, "h", "w"])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "segmenter.onnx"
    onnx.save(model, onnx_path)
    image = rng.random((1, 1, step, 2 * step), dtype=np.float32)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"image": image})
    npz_path = folder / "segmenter-test.npz"
    np.savez(npz_path, image=image, logits=logits)
    rel = os.path.relpath(folder, folder.parent)
    card = tiny_card(f"{rel}/segmenter-test.npz", sha(npz_path), npz_path.stat().st_size, 0)
    space = [{"name": n, "type": "space", "size": {"min": step, "step": step}} for n in "yx"]
    same = [{"name": n, "type": "space", "size": {"tensor": "image", "axis": n}} for n in "yx"]

    def batch() -> dict:  # a fresh dict each time: YAML would write a shared one as an alias
        return {"name": "b", "type": "batch"}

    card.update(
        description="A toy segmenter for the tests: 3x3 convolutions, logits of 3 classes.",
        task="segment-2d",
        inputs=[{"name": "image", "description": "grey image", "dtype": "float32",
                 "axes": [batch(), {"name": "c", "type": "channel", "size": 1}, *space]}],
        outputs=[{"name": "logits", "description": "class logits", "dtype": "float32",
                  "axes": [batch(), {"name": "c", "type": "channel", "size": 3}, *same]}],
        preprocessing=[{"tensor": "image", "steps": [
            {"op": "scale_range", "min_percentile": 0.5, "max_percentile": 99.5},
            {"op": "clip", "min": 0.0, "max": 1.0}]}],
    )  # fmt: skip
    del card["latent"]
    card["channels"][0] = {**card["channels"][0], "tensor": "logits", "voxel_size_um": None}
    card["test_tensors"]["seed"] = None
    return {
        "url": f"{rel}/segmenter.onnx",
        "sha256": sha(onnx_path),
        "size": onnx_path.stat().st_size,
        "card": card,
    }
