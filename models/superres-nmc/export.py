"""Export superres-nmc's newest checkpoint (training environment): ``.venv-train/bin/python
models/superres-nmc/export.py --out models/superres-nmc/0.1.0/superres-nmc.onnx``. The code:
`fusion.training.superres.export`."""

import sys

from fusion.training.superres.export import main

if __name__ == "__main__":
    main(["superres-nmc", *sys.argv[1:]])
