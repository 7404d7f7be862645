"""``python -m fusion.registry KIND:NAME[@VERSION]`` is ``fusion-pull``."""

import sys

from ._cli import pull_main

sys.exit(pull_main())
