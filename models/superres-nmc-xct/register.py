"""Register the exported superres-nmc-xct: ``uv run python models/superres-nmc-xct/register.py --version 0.1.0``
(after export.py and evaluate.py; see README.md). The code: `fusion.training.superres.register`."""

from fusion.training.superres.register import main

if __name__ == "__main__":
    main(name="superres-nmc-xct")
