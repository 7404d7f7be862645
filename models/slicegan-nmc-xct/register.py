"""Register a ground-truth export (iso: slicegan-nmc-xct, aniso: slicegan-nmc-xct-aniso) in

Usage (project environment, after export.py and groundtruth.py)::

    uv run python models/slicegan-nmc-xct/register.py --variant iso --version 0.1.0

What it reads and writes, and every flag: `fusion.training.slicegan_xct.register` (``--help``).
"""

from fusion.training.slicegan_xct.register import main

if __name__ == "__main__":
    main()
