"""Segment the real grayscale SEM images in ../shared/data/instruments/sem with the exported ONNX model.

Usage (project env: onnxruntime, tifffile, Pillow)::

    uv run python models/unet-nmc/demo_real_sem.py                       # unet-nmc.onnx -> figures/
    uv run python models/unet-nmc/demo_real_sem.py --onnx /tmp/x.onnx --out-dir /tmp/fig

First, in domain: a held-out SEM rendering with its true labels, the U-Net and Otsu. Then the
real images: no labels exist for these, so this is a picture and not a metric. The image is shown on the left,
and the U-Net labels (pore black, NMC white, CBD orange) and 3-level Otsu on the right. Inputs: page 0 of the
Zeiss Auriga FIB-SEM stack (InLens, 12.3 nm px) and the Zeiss Merlin 1k image with its burned-in data
zone (rows 691-767) cut off. The FEI Helios file is skipped: its pixels were blanked upstream.
Grey values are scaled to [0, 1] between the 0.5th and 99.5th percentiles, and the image is
box-downsampled by `--bin` (default 4) so that features come closer to the training pixel scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from fusion.training._paths import MODELS, SHARED_DATA
from fusion.training.unet.baselines import otsu_segment
from fusion.training.unet.evaluate import make_predictor
from fusion.training.unet.render import heldout_renderings, scale_range

HERE = MODELS / "unet-nmc"

SEM_DIR = SHARED_DATA / "instruments" / "sem"
COLOURS = np.array([[0, 0, 0], [235, 235, 235], [230, 140, 30]], np.uint8)  # pore, NMC, CBD


def load_real(name: str) -> np.ndarray:
    raw = tifffile.imread(SEM_DIR / name)
    if name == "ZEISS_SEM_multipage.tif":
        raw = raw[0]
    elif name == "test_tiff_Zeiss_SEM_1k.tif":
        raw = raw[:691]  # rows 691-767 are the burned-in data zone
    return raw.astype(np.float32)


def normalise(image: np.ndarray, binning: int) -> np.ndarray:
    h, w = (s - s % binning for s in image.shape)
    image = image[:h, :w].reshape(h // binning, binning, w // binning, binning).mean(axis=(1, 3))
    return scale_range(image)


def heldout_panel(predict, out: Path) -> None:
    """In-domain comparison: a held-out SEM rendering (default parameters), its true labels,
    the U-Net and 3-level Otsu."""
    name, image, labels = heldout_renderings(SHARED_DATA / "micrographs")[0]
    image = scale_range(image)
    grey = np.repeat((image * 255).astype(np.uint8)[..., None], 3, axis=-1)
    panels = [grey, COLOURS[labels], COLOURS[predict(image)], COLOURS[otsu_segment(image)]]
    Image.fromarray(np.concatenate(panels, axis=1)).save(out)
    print(f"{out}: {name} {image.shape}: image, truth, U-Net, Otsu")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", default=str(HERE / "unet-nmc.onnx"))
    parser.add_argument("--out-dir", type=Path, default=HERE / "figures")
    parser.add_argument("--bin", type=int, default=4)
    args = parser.parse_args(argv)
    predict = make_predictor("onnx", HERE, None, args.onnx)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    heldout_panel(predict, args.out_dir / "heldout-sem-rendering.png")
    for name in ("ZEISS_SEM_multipage.tif", "test_tiff_Zeiss_SEM_1k.tif"):
        image = normalise(load_real(name), args.bin)
        grey = np.repeat((image * 255).astype(np.uint8)[..., None], 3, axis=-1)
        panel = np.concatenate(
            [grey, COLOURS[predict(image)], COLOURS[otsu_segment(image)]], axis=1
        )
        out = args.out_dir / f"real-sem-{name.split('.')[0]}.png"
        Image.fromarray(panel).save(out)
        fractions = np.bincount(predict(image).ravel(), minlength=3) / image.size
        print(f"{out}: {image.shape}, U-Net fractions pore/NMC/CBD {np.round(fractions, 3)}")
