"""Train `model:superres-nmc-xct` (×4): ``python models/superres-nmc-xct/train.py [--help]``.

The loop is `fusion.training.superres.train`; this script only picks the preset.
"""

import sys

from fusion.training.superres.train import main

if __name__ == "__main__":
    main(["superres-nmc-xct", *sys.argv[1:]])
