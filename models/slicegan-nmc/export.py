"""Export a trained SliceGAN generator to ONNX, shaped for onnxruntime, with its test tensors.

Usage (from the repository root, in the training environment)::

    .venv-train/bin/pip install onnx onnxruntime          # once, beside torch==2.13.0
    .venv-train/bin/python models/slicegan-nmc/export.py   # latest checkpoint -> export/slicegan-nmc.onnx
    .venv-train/bin/python models/slicegan-nmc/export.py --random-init --out /tmp/sg.onnx

What it does, and every flag with its default: `fusion.training.slicegan.export` (``--help``).
"""

from fusion.training.slicegan.export import main

if __name__ == "__main__":
    main()
