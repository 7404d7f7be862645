"""Measure an export of superres-nmc-xct as the issue asks: ``uv run python models/superres-nmc-xct/evaluate.py --onnx
models/superres-nmc-xct/0.1.0/superres-nmc-xct.onnx`` writes metrics.json beside it. The code:
`fusion.training.superres.evaluate`."""

import sys

from fusion.training.superres.evaluate import main

if __name__ == "__main__":
    main(["superres-nmc-xct", *sys.argv[1:]])
