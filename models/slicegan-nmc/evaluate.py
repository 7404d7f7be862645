"""Measure a SliceGAN export against its training image, per phase and per axis.

Usage (from the repository root, in the project environment; no torch needed)::

    uv run python models/slicegan-nmc/evaluate.py --onnx models/slicegan-nmc/0.1.0/slicegan-nmc.onnx

What it does, and every flag with its default: `fusion.training.slicegan.evaluate` (``--help``).
"""

from fusion.training.slicegan.evaluate import main

if __name__ == "__main__":
    main()
