"""How far each axis's two-point correlation is from the three axes' mean, for checkpoints of a run.

Usage (training environment: torch, safetensors, onnx, onnxruntime; export.py loads)::

    .venv-train/bin/python models/slicegan-nmc/axis_probe.py models/slicegan-nmc/checkpoints/ckpt_0005736.safetensors \
        models/slicegan-nmc/checkpoints/ckpt_0005973.safetensors

What it does, and every flag with its default: `fusion.training.slicegan.axis_probe` (``--help``).
"""

from fusion.training.slicegan.axis_probe import main

if __name__ == "__main__":
    main()
