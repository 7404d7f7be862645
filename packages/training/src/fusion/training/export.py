"""The export record of an ONNX export: what was made, from which checkpoint, and the digests.

Runs in the training environment (torch, onnx); written as ``export.json`` beside the ONNX file.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from fusion.base import hash_file

__all__ = ["export_record", "sha256"]


def sha256(path: Path) -> str:
    """SHA-256 of a file, hex (`fusion.base.hash_file`)."""
    return hash_file(path)


def export_record(
    onnx_path: Path,
    tensors_path: Path,
    source: Path,
    meta: dict,
    *,
    opset: int,
    ir_version: int,
    max_abs_difference: float,
) -> dict:
    """What an export made, from which checkpoint, and the digests; written as ``export.json``."""
    import onnx

    record = {
        "checkpoint": source.name,
        "iteration": meta.get("iteration"),
        "weights": meta.get("exported_weights", "trained"),
        "elapsed_s": meta.get("elapsed_s"),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "opset": opset,
        "ir_version": ir_version,
        "max_abs_difference_torch_vs_onnxruntime": max_abs_difference,
        "train_config": meta.get("train_config"),
        # where the trainer records them: how BatchNorm statistics were set, data changed on
        # resume, the release a warm-started run began from
        **{
            k: meta[k]
            for k in ("batchnorm_statistics", "data_changes", "warm_start")
            if meta.get(k) is not None
        },
        "files": {
            p.name: {"sha256": sha256(p), "size": p.stat().st_size}
            for p in (onnx_path, tensors_path)
        },
    }
    onnx_path.with_name("export.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
