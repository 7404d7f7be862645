"""``python -m fusion.cli``: the same as the ``fusion`` command."""

import sys

from ._main import main

if __name__ == "__main__":  # a LocalCluster's worker processes import this module again
    sys.exit(main())
