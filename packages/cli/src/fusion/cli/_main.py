"""Parser assembly, error handling and progress bars of the ``fusion`` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points, version

from fusion.base import FusionError

from ._parser import FusionArgumentParser

__all__ = ["build_parser", "main", "progress_factory"]

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every installed verb: those of ``fusion.commands`` and
    those of the installed model tasks (``fusion.tasks``); unknown arguments are named first."""
    parser = FusionArgumentParser(
        prog="fusion",
        description="Fused multi-modal voxel datasets of battery electrodes.",
    )
    parser.add_argument("--version", action="version", version=f"fusion {version('fusion-cli')}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for entry in sorted(entry_points(group="fusion.commands"), key=lambda e: e.name):
        try:
            register = entry.load()
        except Exception as err:  # a broken plug-in must not take the other verbs down
            warnings.warn(f"fusion: verb {entry.name!r} failed to load: {err}", stacklevel=1)
            continue
        register(subparsers)
    for task in _installed_tasks():
        task.register_cli(subparsers)
    return parser


def _installed_tasks() -> list:
    """The model tasks (entry-point group ``fusion.tasks``), each of which may add a verb;
    none when fusion-registry, which defines the group, is not installed."""
    try:
        from fusion.registry.tasks import installed_tasks
    except ImportError:
        return []
    return [task for _, task in sorted(installed_tasks().items())]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fusion`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.progress = progress_factory(quiet=args.quiet)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("fusion: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if os.environ.get("FUSION_DEBUG"):
            raise
        print(f"fusion {args.verb}: error: {_one_line(err)}", file=sys.stderr)
        return _exit_code(err)


def _exit_code(err: BaseException) -> int:
    """A fusion error's own ``exit_code``; else unreadable input (OSError family) is 2 and
    anything else (invalid content) 1."""
    if isinstance(err, FusionError):
        return err.exit_code
    if isinstance(err, OSError):
        return EXIT_UNREADABLE
    return EXIT_INVALID


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 2000 else text[:1997] + "..."


def progress_factory(quiet: bool) -> Callable[[str], contextlib.AbstractContextManager]:
    """Progress bars for verbs: ``with factory("pulling x") as update: update(done, total)``
    (``factory("segmenting", unit="tile")`` counts tiles instead of bytes).

    A tqdm bar on stderr when it is a terminal; ``update`` is None under ``--quiet`` or when
    stderr is not a terminal, and library code then reports nothing.
    """
    show = not quiet and sys.stderr.isatty()

    @contextlib.contextmanager
    def progress(description: str, unit: str = "B") -> Iterator[Callable[[int, int], None] | None]:
        if not show:
            yield None
            return
        from tqdm import tqdm

        with tqdm(desc=description, unit=unit, unit_scale=unit == "B", leave=False) as bar:

            def update(done: int, total: int) -> None:
                bar.total = total or None  # 0: size not known yet
                bar.n = done
                bar.refresh()

            yield update

    return progress
