"""Parser assembly, error handling and progress bars of the ``fusion`` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points, version

from fusion.base import FusionError, fill_options

from ._parser import FusionArgumentParser

__all__ = ["build_parser", "main", "progress_factory", "worded"]

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with the installed verbs: those of ``fusion.commands`` and those
    of the installed model tasks (``fusion.tasks``); unknown arguments are named first.

    With ``verb``, only what that verb needs is loaded: its own ``fusion.commands`` entry
    (named as the verb), or else the model tasks; every verb where neither provides it (so an
    unknown verb is answered with the full list). Loading a verb imports its package, and some
    import a lot (``show``: matplotlib), so ``fusion VERB`` costs only its own imports."""
    parser = FusionArgumentParser(
        prog="fusion",
        description="Fused multi-modal voxel datasets of battery electrodes.",
    )
    parser.add_argument("--version", action="version", version=f"fusion {version('fusion-cli')}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    commands = sorted(entry_points(group="fusion.commands"), key=lambda e: e.name)
    own = commands if verb is None else [entry for entry in commands if entry.name == verb]
    _register_commands(subparsers, own)
    if verb is None or verb not in subparsers.choices:
        for task in _installed_tasks():
            task.register_cli(subparsers)
    if verb is not None and verb not in subparsers.choices:
        _register_commands(subparsers, [entry for entry in commands if entry not in own])
    return parser


def _register_commands(subparsers: argparse._SubParsersAction, entries: list) -> None:
    for entry in entries:
        try:
            register = entry.load()
        except Exception as err:  # a broken plug-in must not take the other verbs down
            warnings.warn(f"fusion: verb {entry.name!r} failed to load: {err}", stacklevel=1)
            continue
        register(subparsers)


def _verb_of(argv: Sequence[str]) -> str | None:
    """The verb of a command line: its first word that is not an option (the top-level options
    take no value); None where there is none."""
    return next((word for word in argv if not word.startswith("-")), None)


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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_verb_of(argv))
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
        text = _one_line(worded(err, _verb_parser(parser, args.verb))) or type(err).__name__
        print(f"fusion {args.verb}: error: {text}", file=sys.stderr)
        return _exit_code(err)


def _exit_code(err: BaseException) -> int:
    """A fusion error's own ``exit_code``; else unreadable input (OSError family) is 2 and
    anything else (invalid content) 1."""
    if isinstance(err, FusionError):
        return err.exit_code
    if isinstance(err, OSError):
        return EXIT_UNREADABLE
    return EXIT_INVALID


def worded(err: BaseException, parser: argparse.ArgumentParser) -> str:
    """The error's message with each parameter it names (`fusion.base.option_error`) as the
    flag that sets it: ``pass --overwrite`` for the library's ``pass overwrite=True``.

    A parameter is the flag whose ``dest`` is the library's keyword; a parameter that no flag
    of the command sets keeps its keyword wording."""
    template = getattr(err, "option_template", None)
    values = getattr(err, "option_values", None)
    if not isinstance(template, str) or not isinstance(values, dict):
        return str(err)
    flags = _flags(parser)
    wording = {key: flags.get(key) or f"{key}={value}" for key, value in values.items()}
    return fill_options(template, wording)


def _verb_parser(parser: argparse.ArgumentParser, verb: str) -> argparse.ArgumentParser:
    """The parser of one verb (``fusion push`` → the ``push`` sub-parser)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and verb in action.choices:
            return action.choices[verb]
    return parser


def _flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``dest`` → how to write the flag (``--overwrite``, ``--voxel-size UM``), over the chosen
    verb's parser and those below it; the first flag found for a ``dest`` wins."""
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for dest, text in _flags(sub).items():
                    found.setdefault(dest, text)
        elif action.option_strings:
            flag = max(action.option_strings, key=len)
            takes_value = action.nargs != 0
            metavar = action.metavar or action.dest.upper()
            found.setdefault(action.dest, f"{flag} {metavar}" if takes_value else flag)
    return found


def _one_line(message: str) -> str:
    text = " ".join(message.split())
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
