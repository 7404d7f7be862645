"""Measure an export of superres-nmc as the issue asks: ``uv run python models/superres-nmc/evaluate.py --onnx
models/superres-nmc/0.1.0/superres-nmc.onnx`` writes metrics.json beside it. The code:
`fusion.training.superres.evaluate`."""

import sys

from fusion.training.superres.evaluate import main

if __name__ == "__main__":
    main(["superres-nmc", *sys.argv[1:]])
