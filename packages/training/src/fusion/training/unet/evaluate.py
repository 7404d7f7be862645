"""Per-phase IoU and boundary F1 of any segmenter on the held-out renderings (render.SPLIT["heldout"]).

Usage (from the repository root)::

    .venv-train/bin/python models/unet-nmc/evaluate.py otsu rf          # the two baselines
    .venv-train/bin/python models/unet-nmc/evaluate.py unet             # latest checkpoint (torch)
    uv run python models/unet-nmc/evaluate.py otsu onnx                 # project env: no torch, no RF

Metrics (pooled over all pixels of a group of images; groups: the held-out SEM columns, the 128^3
XCT cube slices, the 30-slice XCT volume, and all together):

- **IoU per phase** = TP / (TP + FP + FN) from the summed confusion matrix; **mean IoU** over the
  three phases.
- **Boundary-band mean IoU**: the same, restricted to pixels within 2 px (chessboard) of a label
  change in the ground truth, i.e. where thresholding is said to fail.
- **Boundary F1** (BF score): boundary pixels are pixels whose 4-neighbour has another label;
  precision = share of predicted boundary pixels within `tol` = 2 px (Euclidean) of a true one,
  recall = share of true boundary pixels within 2 px of a predicted one, F1 their harmonic mean
  (counts pooled over the group).

The evaluation set is fixed (`render.heldout_renderings`, 3 renderings per held-out region: the
default parameters and two random draws), so numbers from different predictors compare directly.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from fusion.training._paths import MODELS, SHARED_DATA
from fusion.training.unet.render import PHASES, heldout_renderings, scale_range

HERE = MODELS / "unet-nmc"

N = len(PHASES)
DEFAULT_MICROGRAPHS = SHARED_DATA / "micrographs"


def label_change(labels: np.ndarray) -> np.ndarray:
    """Bool mask (same shape; last two axes are H, W) of pixels with a 4-neighbour of another label.

    >>> label_change(np.array([[0, 0, 1, 1]])).astype(int).tolist()
    [[0, 1, 1, 0]]
    """
    change = np.zeros(labels.shape, bool)
    dy = labels[..., 1:, :] != labels[..., :-1, :]
    dx = labels[..., :, 1:] != labels[..., :, :-1]
    change[..., 1:, :] |= dy
    change[..., :-1, :] |= dy
    change[..., :, 1:] |= dx
    change[..., :, :-1] |= dx
    return change


def boundary_band(labels: np.ndarray, px: int) -> np.ndarray:
    """Pixels within `px` (chessboard distance) of a label change; labels (..., H, W).

    >>> boundary_band(np.array([[[0, 0, 0, 1, 1, 1]]]), 1).astype(int).tolist()
    [[[0, 0, 1, 1, 0, 0]]]
    """
    band = label_change(labels)
    if px > 1:
        structure = np.ones((1,) * (labels.ndim - 2) + (3, 3), bool)
        band = ndimage.binary_dilation(band, structure, iterations=px - 1)
    return band


def confusion(true: np.ndarray, pred: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, N) counts, rows = true phase, columns = predicted phase."""
    t, p = true.ravel().astype(np.int64), pred.ravel().astype(np.int64)
    if mask is not None:
        t, p = t[mask.ravel()], p[mask.ravel()]
    return np.bincount(t * N + p, minlength=N * N).reshape(N, N)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-phase IoU; NaN for a phase absent from both.

    >>> iou_from_confusion(np.array([[2, 0, 0], [0, 1, 1], [0, 1, 1]])).round(3).tolist()
    [1.0, 0.333, 0.333]
    """
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def boundary_counts(true: np.ndarray, pred: np.ndarray, tol: float = 2.0) -> np.ndarray:
    """[matched predicted, all predicted, matched true, all true] boundary-pixel counts."""
    bt, bp = label_change(true), label_change(pred)
    dt = ndimage.distance_transform_edt(~bt) if bt.any() else np.full(bt.shape, np.inf)
    dp = ndimage.distance_transform_edt(~bp) if bp.any() else np.full(bp.shape, np.inf)
    return np.array([(bp & (dt <= tol)).sum(), bp.sum(), (bt & (dp <= tol)).sum(), bt.sum()])


def f1_from_counts(c: np.ndarray) -> tuple[float, float, float]:
    precision = c[0] / c[1] if c[1] else 0.0
    recall = c[2] / c[3] if c[3] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def group_of(name: str) -> str:
    return name.split(":")[0]


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    dataset: list[tuple[str, np.ndarray, np.ndarray]],
    band_px: int = 2,
    tol: float = 2.0,
) -> dict:
    """Metrics of `predict` (image (H, W) float32 -> labels (H, W)) per group and overall."""
    acc: dict[str, dict] = {}
    for name, image, labels in dataset:
        pred = np.asarray(predict(image))
        if pred.shape != labels.shape:
            raise ValueError(f"{name}: prediction {pred.shape} vs labels {labels.shape}")
        band = boundary_band(labels, band_px)
        for g in (group_of(name), "all"):
            a = acc.setdefault(g, {"cm": 0, "cm_band": 0, "bf": 0, "images": 0})
            a["cm"] = a["cm"] + confusion(labels, pred)
            a["cm_band"] = a["cm_band"] + confusion(labels, pred, band)
            a["bf"] = a["bf"] + boundary_counts(labels, pred, tol)
            a["images"] += 1
    out = {}
    for g, a in acc.items():
        iou, iou_band = iou_from_confusion(a["cm"]), iou_from_confusion(a["cm_band"])
        p, r, f1 = f1_from_counts(a["bf"])
        out[g] = {
            "images": a["images"],
            "iou": dict(zip(PHASES, np.round(iou, 4).tolist(), strict=True)),
            "mean_iou": round(float(np.nanmean(iou)), 4),
            "band_iou": dict(zip(PHASES, np.round(iou_band, 4).tolist(), strict=True)),
            "band_mean_iou": round(float(np.nanmean(iou_band)), 4),
            "boundary_precision": round(p, 4),
            "boundary_recall": round(r, 4),
            "boundary_f1": round(f1, 4),
        }
    return out


# --------------------------------------------------------------------------------------------------
# Predictors


def make_predictor(kind: str, micrographs: Path, checkpoint: str | None, onnx_path: str | None):
    if kind == "otsu":
        from fusion.training.unet.baselines import otsu_segment

        return otsu_segment
    if kind == "rf":
        from fusion.training.unet.baselines import RandomForestSegmenter

        return RandomForestSegmenter.fit_on_training_renderings(micrographs).predict
    if kind == "unet":
        import torch

        from fusion.training.unet.model import UNet, UNetConfig, segment
        from fusion.training.unet.train import latest_checkpoint, read_checkpoint

        torch.set_num_threads(1)
        if checkpoint:
            tensors, meta = read_checkpoint(Path(checkpoint))
        else:
            found = latest_checkpoint(HERE / "checkpoints")
            if found is None:
                raise SystemExit("no checkpoint: train first")
            _, tensors, meta = found
        model = UNet(UNetConfig(**meta["model_config"]))
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        print(f"unet: iteration {meta['iteration']}", file=sys.stderr)
        return lambda image: segment(model, scale_range(image)).numpy()
    if kind == "onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        session = ort.InferenceSession(
            onnx_path or str(HERE / "unet-nmc.onnx"), opts, providers=["CPUExecutionProvider"]
        )

        def predict(image: np.ndarray) -> np.ndarray:
            h, w = image.shape
            ph, pw = (-h) % 16, (-w) % 16
            x = np.pad(scale_range(image), ((0, ph), (0, pw)), mode="reflect")[None, None]
            (logits,) = session.run(None, {"image": x})
            return logits[0, :, :h, :w].argmax(0)

        return predict
    raise SystemExit(f"unknown predictor {kind!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("predictors", nargs="+", choices=["otsu", "rf", "unet", "onnx"])
    parser.add_argument("--micrographs", default=str(DEFAULT_MICROGRAPHS))
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--onnx", default=None)
    parser.add_argument(
        "--out", default=None, help="write the results as JSON here (other predictors kept)"
    )
    args = parser.parse_args(argv)
    micrographs = Path(args.micrographs)
    dataset = heldout_renderings(micrographs)
    results = {}
    for kind in args.predictors:
        t0 = time.time()
        predict = make_predictor(kind, micrographs, args.checkpoint, args.onnx)
        results[kind] = evaluate(predict, dataset)
        results[kind]["seconds"] = round(time.time() - t0, 1)
        a = results[kind]["all"]
        print(
            f"{kind:5s} mean IoU {a['mean_iou']:.4f} {a['iou']} | band mean IoU "
            f"{a['band_mean_iou']:.4f} | boundary F1 {a['boundary_f1']:.4f} ({time.time() - t0:.0f}s)"
        )
        for g, m in results[kind].items():
            if isinstance(m, dict) and g != "all":
                print(
                    f"      {g}: mean IoU {m['mean_iou']:.4f} band {m['band_mean_iou']:.4f} "
                    f"BF1 {m['boundary_f1']:.4f}"
                )
    if args.out:  # predictors already in the file and not rerun are kept
        out = Path(args.out)
        kept = json.loads(out.read_text()) if out.exists() else {}
        out.write_text(json.dumps(kept | results, indent=2) + "\n")
