"""The argument parser of the ``fusion`` command and of each of its verbs.

argparse checks required arguments before it looks at unknown ones, so
``fusion generate MODEL --frobnicate`` would answer "the following arguments are required:
-o/--output". `FusionArgumentParser` names unknown arguments first, for the command, every
verb and every nested action (``fusion registry check``): a parse with nothing required
collects them, then the usual parse runs.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence

__all__ = ["FusionArgumentParser"]


class FusionArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose first complaint is an unknown argument.

    Sub-parsers made by ``add_subparsers`` are of this class too, so every verb behaves alike.
    Usage and help always show the arguments as declared (required ones without brackets).
    """

    _declared: list[tuple[argparse.Action | argparse._MutuallyExclusiveGroup, bool]] | None = None

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as argparse does, after erroring (exit 2) on arguments no option takes."""
        with self._nothing_required():
            _, unknown = super().parse_known_args(args, argparse.Namespace())
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with self._as_declared():
            return super().format_usage()

    def format_help(self) -> str:
        with self._as_declared():
            return super().format_help()

    @contextlib.contextmanager
    def _nothing_required(self) -> Iterator[None]:
        """Make every argument and mutually exclusive group optional for a while."""
        things = [*self._actions, *self._mutually_exclusive_groups]
        self._declared = [(thing, thing.required) for thing in things]
        for thing in things:
            thing.required = False
        try:
            yield
        finally:
            self._set_required(True)
            self._declared = None

    @contextlib.contextmanager
    def _as_declared(self) -> Iterator[None]:
        """While nothing is required, put the declared requirements back for a while."""
        if self._declared is None:
            yield
            return
        self._set_required(True)
        try:
            yield
        finally:
            self._set_required(False)

    def _set_required(self, declared: bool) -> None:
        for thing, required in self._declared or []:
            thing.required = required if declared else False
