"""Per-phase IoU and boundary F1 of any segmenter on the held-out renderings (render.SPLIT["heldout"]).

Usage (from the repository root)::

    .venv-train/bin/python models/unet-nmc/evaluate.py otsu rf          # the two baselines
    .venv-train/bin/python models/unet-nmc/evaluate.py unet             # latest checkpoint (torch)
    uv run python models/unet-nmc/evaluate.py otsu onnx                 # project env: no torch, no RF

What it does, and every flag with its default: `fusion.training.unet.evaluate` (``--help``).
"""

from fusion.training.unet.evaluate import main

if __name__ == "__main__":
    main()
