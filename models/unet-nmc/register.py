"""Register the exported unet-nmc in registry.yaml with its measured metrics.

Usage (project environment, after export.py and evaluate.py)::

    uv run python models/unet-nmc/register.py --version 0.1.0

What it reads and writes, and every flag: `fusion.training.unet.register` (``--help``).
"""

from fusion.training.unet.register import main

if __name__ == "__main__":
    main()
