"""Export superres-nmc-xct's newest checkpoint (training environment): ``.venv-train/bin/python
models/superres-nmc-xct/export.py --out models/superres-nmc-xct/0.1.0/superres-nmc-xct.onnx``. The code:
`fusion.training.superres.export`."""

import sys

from fusion.training.superres.export import main

if __name__ == "__main__":
    main(["superres-nmc-xct", *sys.argv[1:]])
