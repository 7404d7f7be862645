"""The ``fusion`` command.

Verbs come from the ``fusion.commands`` entry-point group: each installed fusion package
registers its own (``validate`` and ``example`` from fusion-schema, ``load`` from
fusion-loaders, ...). This module only builds the parser, runs the verb, shows progress on a
terminal and turns errors into one line and an exit code.
"""

from ._main import main, progress_factory, worded

__all__ = ["main", "progress_factory", "worded"]
