"""How much of the held-out labels survives the probe blur alone: a ceiling for any segmenter.

Usage (project env or training env; numpy + scipy)::

    uv run python models/unet-nmc/ceiling.py --out models/unet-nmc/results/ceiling.json

The renderer blurs with a Gaussian probe (sigma 1.0 px by default, 0.4-1.6 px in the random
draws) before it adds noise. This script labels each held-out region with a noise-free oracle
that knows the true labels and sees them through that blur: the argmax of the Gaussian-blurred
one-hot labels. It scores it with the evaluation's own IoU (pooled pixels over the 11 held-out
regions), at fixed sigmas and at the sigma each rendering of the evaluation set was drawn
with. Pixel-scale features (the nano-pores speckled through the carbon-binder in the SEM
and XCT segmentations) fall below the argmax at sigma ≈ 1 px, so its IoU bounds what a
segmenter that sees a blurred image can reach on these labels (it is not a strict bound: a
model could learn shape priors, but no prior can place isolated one-pixel pores that the blur
and the noise erased).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from fusion.training.unet.evaluate import DEFAULT_MICROGRAPHS, confusion, iou_from_confusion
from fusion.training.unet.render import PHASES, RANGES, RenderParams, heldout_plan, split_labels


def blur_oracle(labels: np.ndarray, sigma: float) -> np.ndarray:
    """Argmax over phases of the Gaussian-blurred one-hot labels."""
    blurred = [
        ndimage.gaussian_filter((labels == p).astype(np.float32), sigma) for p in range(len(PHASES))
    ]
    return np.argmax(blurred, axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micrographs", type=Path, default=DEFAULT_MICROGRAPHS)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.4, 0.7, 1.0, 1.3, 1.6])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    regions = split_labels(args.micrographs, "heldout")
    low, high = RANGES["probe_sigma"]
    print(f"probe sigma: default {RenderParams().probe_sigma} px, random draws {low}-{high} px")
    print(
        "| probe sigma (px) | IoU pore | IoU NMC | IoU CBD | mean IoU |\n|---:|---:|---:|---:|---:|"
    )
    results = {}
    for sigma in args.sigmas:
        cm = sum(confusion(labels, blur_oracle(labels, sigma)) for _, labels in regions)
        iou = iou_from_confusion(cm)
        results[str(sigma)] = {"iou": dict(zip(PHASES, iou.round(4).tolist(), strict=True)),
                               "mean_iou": round(float(iou.mean()), 4)}  # fmt: skip
        print(f"| {sigma} | " + " | ".join(f"{v:.3f}" for v in iou) + f" | {iou.mean():.3f} |")
    # the evaluation set itself: each of its renderings at its own probe sigma, pooled
    plan = heldout_plan(args.micrographs)
    cm = sum(confusion(labels, blur_oracle(labels, p.probe_sigma)) for _, labels, p, _ in plan)
    iou = iou_from_confusion(cm)
    results["evaluation-set"] = {"iou": dict(zip(PHASES, iou.round(4).tolist(), strict=True)),
                                 "mean_iou": round(float(iou.mean()), 4), "images": len(plan)}  # fmt: skip
    print(f"| each of the {len(plan)} held-out renderings at its own sigma | "
          + " | ".join(f"{v:.3f}" for v in iou) + f" | **{iou.mean():.3f}** |")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
