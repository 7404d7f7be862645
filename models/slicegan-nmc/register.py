"""Register the exported slicegan-nmc in registry.yaml with its measured metrics.

Usage (project environment, after export.py and evaluate.py)::

    .venv-train/bin/python models/slicegan-nmc/export.py --out models/slicegan-nmc/0.2.0/slicegan-nmc.onnx
    uv run python models/slicegan-nmc/evaluate.py --onnx models/slicegan-nmc/0.2.0/slicegan-nmc.onnx
    uv run python models/slicegan-nmc/register.py --version 0.2.0

What it reads and writes, and every flag: `fusion.training.slicegan.register` (``--help``).
"""

from fusion.training.slicegan.register import main

if __name__ == "__main__":
    main()
