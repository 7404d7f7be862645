"""How far a released generator's exported (eval-mode) output is from its training-mode output.

Usage (training environment: torch, onnx)::

    .venv-train/bin/python models/slicegan-nmc/batchnorm_gap.py models/slicegan-nmc/0.2.0/slicegan-nmc.onnx

What it does, and every flag with its default: `fusion.training.slicegan.batchnorm_gap` (``--help``).
"""

from fusion.training.slicegan.batchnorm_gap import main

if __name__ == "__main__":
    main()
