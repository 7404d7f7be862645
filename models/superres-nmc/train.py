"""Train `model:superres-nmc` (×8): ``python models/superres-nmc/train.py [--help]``.

The loop is `fusion.training.superres.train`; this script only picks the preset.
"""

import sys

from fusion.training.superres.train import main

if __name__ == "__main__":
    main(["superres-nmc", *sys.argv[1:]])
