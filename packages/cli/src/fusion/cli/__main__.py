"""``python -m fusion.cli``: the same as the ``fusion`` command."""

import sys

from ._main import main

sys.exit(main())
