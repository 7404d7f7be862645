"""Options that the ``fusion`` verbs of every package share, and how to read them.

``--storage-option KEY=VALUE`` (fsspec options for URLs; ``--source-option`` for the source
of a verb that reads from one URL and writes to another) and ``--scheduler`` / ``--workers``
(where dask work runs, see `fusion.schema.use_scheduler`). fusion-schema holds them because
every package that adds verbs depends on it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import Any

from ._errors import FusionError
from ._scheduler import parse_scheduler, use_scheduler

__all__ = [
    "add_ome_option",
    "add_scheduler_options",
    "add_source_option",
    "add_storage_option",
    "parse_storage_options",
    "scheduler_from",
    "source_options_from",
    "storage_options_from",
    "write_ome_view",
]


def parse_storage_options(
    pairs: list[str] | None, flag: str = "--storage-option"
) -> dict[str, object]:
    """``["endpoint_url=http://127.0.0.1:5000", "anon=true"]`` → a storage_options dict;
    a pair without ``=`` is a `FusionError` naming ``flag``.

    >>> parse_storage_options(["anon=true", "endpoint_url=http://127.0.0.1:9000"])
    {'anon': True, 'endpoint_url': 'http://127.0.0.1:9000'}
    """
    options: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FusionError(f"{flag} expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="fsspec option for URLs (repeatable), e.g. endpoint_url=http://127.0.0.1:9000",
    )


def storage_options_from(args: argparse.Namespace) -> dict[str, object]:
    return parse_storage_options(args.storage_option)


def add_source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-option",
        action="append",
        metavar="KEY=VALUE",
        help="fsspec option for the source (repeatable); default: the --storage-option values "
        "when source and destination use the same protocol",
    )


def source_options_from(args: argparse.Namespace) -> dict[str, object] | None:
    """The ``--source-option`` values, or None when none were given (the verb decides)."""
    if args.source_option is None:
        return None
    return parse_storage_options(args.source_option, flag="--source-option")


def _scheduler_spec(text: str) -> str:
    try:
        parse_scheduler(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--scheduler ")) from err
    return text


def add_scheduler_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        type=_scheduler_spec,
        default="default",
        metavar="default|local|tcp://HOST:PORT",
        help="where the dask work runs: threads here (default), a local cluster of worker "
        "processes, or the dask.distributed scheduler at that address",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of --scheduler local (default: one per core)",
    )


def scheduler_from(args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """`use_scheduler` as the parsed ``--scheduler`` and ``--workers`` say."""
    return use_scheduler(args.scheduler, workers=args.workers)


def add_ome_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ome-zarr",
        metavar="VIEW",
        help="also write the dataset's OME-Zarr 0.5 view, with pyramids, to VIEW (a folder or "
        "fsspec URL), as `fusion export ome-zarr` does, once the dataset is written",
    )


def write_ome_view(args: argparse.Namespace, written: str, options: dict[str, Any]) -> str | None:
    """Export the view ``--ome-zarr`` asks for of the dataset just written; the line to print
    (None where it was not asked)."""
    if not getattr(args, "ome_zarr", None):
        return None
    from .ome._export import export_ome_zarr  # dask and the pyramid code: only when asked

    result = export_ome_zarr(written, args.ome_zarr, overwrite=bool(args.overwrite),
                             storage_options=options, source_options=options)  # fmt: skip
    levels = max(result.images.values(), default=0)
    return (
        f"wrote {result.destination}: OME-Zarr 0.5 view, {len(result.images)} image(s), "
        f"up to {levels} level(s)"
    )
