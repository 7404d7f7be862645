"""How much of the held-out labels survives the probe blur alone: a ceiling for any segmenter.

Usage (project env or training env; numpy + scipy)::

    uv run python models/unet-nmc/ceiling.py --out models/unet-nmc/results/ceiling.json

What it does, and every flag with its default: `fusion.training.unet.ceiling` (``--help``).
"""

from fusion.training.unet.ceiling import main

if __name__ == "__main__":
    main()
