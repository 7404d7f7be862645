"""Segment the real grayscale SEM images in ../shared/data/instruments/sem with the exported ONNX model.

Usage (project env: onnxruntime, tifffile, Pillow)::

    uv run python models/unet-nmc/demo_real_sem.py                       # unet-nmc.onnx -> figures/
    uv run python models/unet-nmc/demo_real_sem.py --onnx /tmp/x.onnx --out-dir /tmp/fig

What it does, and every flag with its default: `fusion.training.unet.demo_real_sem` (``--help``).
"""

from fusion.training.unet.demo_real_sem import main

if __name__ == "__main__":
    main()
