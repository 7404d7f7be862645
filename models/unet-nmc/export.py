"""Export a trained U-Net to ONNX, with the test tensors its model card names.

Usage (from the repository root, in the training environment)::

    .venv-train/bin/python models/unet-nmc/export.py                  # latest checkpoint -> unet-nmc.onnx
    .venv-train/bin/python models/unet-nmc/export.py --out /tmp/x.onnx --checkpoint path.safetensors

What it does, and every flag with its default: `fusion.training.unet.export` (``--help``).
"""

from fusion.training.unet.export import main

if __name__ == "__main__":
    main()
