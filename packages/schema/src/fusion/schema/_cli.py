"""The verbs fusion-schema adds to the ``fusion`` command: ``validate``, ``example``, ``schema``,
``push``, ``export``.

Each verb parses its arguments, calls one library function, prints, and returns an exit code.
The ``fusion`` program (fusion-cli) finds these through the ``fusion.commands`` entry points
and passes a ``progress`` factory on the parsed arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator

from ._example import SIZES, make_example
from .checks._validate import validate
from .cli_options import (
    add_scheduler_options,
    add_source_option,
    add_storage_option,
    scheduler_from,
    source_options_from,
    storage_options_from,
)
from .model._jsonschema import write_json_schemas
from .share._push import PushResult, push
from .store._write import write

__all__ = [
    "register_example",
    "register_export",
    "register_push",
    "register_schema",
    "register_validate",
]

Subparsers = argparse._SubParsersAction


@contextlib.contextmanager
def _no_progress(description: str) -> Iterator[None]:
    yield None


def _progress(args: argparse.Namespace) -> Callable:
    return getattr(args, "progress", _no_progress)


def register_validate(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a dataset against the format",
        description="Validate a fused dataset. Exit 0: conforms; 1: does not; 2: unreadable.",
    )
    parser.add_argument("path", help="folder, .zip file or fsspec URL of the dataset")
    parser.add_argument(
        "--level",
        choices=("metadata", "data"),
        default="metadata",
        help="metadata: attributes, dims, coordinates (fast, any size); data: also every value",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_storage_option(parser)
    add_scheduler_options(parser)
    parser.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    options = storage_options_from(args)
    with scheduler_from(args), _progress(args)(f"validating {args.path}") as progress:
        report = validate(args.path, level=args.level, storage_options=options, progress=progress)
    if args.json:
        print(report.to_json())
    elif not report.readable:
        print(f"fusion validate: error: {report.findings[0].message}", file=sys.stderr)
    else:
        print(report)
    return report.exit_code


def register_example(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "example",
        help="write the built-in example dataset",
        description="Write a small two-scale example dataset (generated data) that conforms.",
    )
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    add_storage_option(parser)
    parser.set_defaults(run=run_example)


def run_example(args: argparse.Namespace) -> int:
    tree = make_example(size=args.size, seed=args.seed)
    options = storage_options_from(args)
    where = write(tree, args.output, overwrite=args.overwrite, storage_options=options)
    scales = ", ".join(
        f"{name} {tuple(ds.sizes[d] for d in ('z', 'y', 'x'))} at {ds.fusion.voxel_size_um[2]} um"
        for name, ds in tree.fusion.scales.items()
    )
    print(f"wrote {where}: {scales}")
    return 0


def register_schema(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="write the format's JSON Schema files",
        description="Write the JSON Schema of the format's metadata documents.",
    )
    parser.add_argument("--out", default="spec/schema", help="folder (default: spec/schema)")
    parser.set_defaults(run=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    for path in write_json_schemas(args.out):
        print(path)
    return 0


def register_push(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="copy a dataset to a folder, zip or object store and verify every chunk",
        description="Copy the objects of the dataset at SRC to URL as they are, read every one "
        "back and compare its SHA-256 with the source's; URL stays marked incomplete until all "
        "match. Over a complete dataset without --overwrite: only compare, write nothing. Over "
        "an incomplete one: resume. Exit 0: verified; 1: an object differs (named); 2: "
        "unreadable source or unwritable destination.",
    )
    parser.add_argument("source", metavar="SRC", help="folder, .zip file or fsspec URL")
    parser.add_argument(
        "destination", metavar="URL", help="folder, .zip file or writable fsspec URL (s3://...)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a complete dataset at URL"
    )
    add_storage_option(parser)
    add_source_option(parser)
    parser.set_defaults(run=run_push)


def run_push(args: argparse.Namespace) -> int:
    options = storage_options_from(args)
    source_options = source_options_from(args)
    with _progress(args)(f"pushing {args.source}") as progress:
        result = push(
            args.source,
            args.destination,
            overwrite=args.overwrite,
            storage_options=options,
            source_options=source_options,
            progress=progress,
        )
    print(describe_push(args.source, result))
    return 0


def describe_push(source: str, result: PushResult) -> str:
    """The one line ``fusion push`` prints."""
    size = (
        f"{result.objects} objects ({result.chunks} chunks, {result.metadata} metadata "
        f"documents, {result.manifests} chunk manifests), {result.bytes} bytes of data"
    )
    if result.verified_only:
        return f"{result.destination} already holds {source}: {size}, every object verified"
    verb = "resumed push of" if result.resumed else "pushed"
    counts = (
        f"{result.uploaded} copied, {result.kept} already there, {result.manifests} chunk "
        f"manifests and the root zarr.json written last, {result.deleted} deleted"
    )
    line = f"{verb} {source} to {result.destination}: {size}, every object verified ({counts})"
    if result.archive is not None:
        line += f"; archive sha256 {result.archive.sha256}, size {result.archive.size}"
    return line


def register_export(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a dataset in another community format (ome-zarr)",
        description="ome-zarr: write the OME-Zarr 0.5 view of a dataset (every scale group's "
        "channels as multiscale images with pyramids, label channels as image-labels with "
        "their colours), for napari, Neuroglancer, webKnossos, Vizarr and the BioImage tools. "
        "Level 0 is copied without re-encoding. Exit 0: written; 1: the dataset does not "
        "conform; 2: unreadable source or unwritable destination.",
    )
    parser.add_argument("format", choices=("ome-zarr",), help="the format to write")
    parser.add_argument("source", metavar="IN", help="dataset: folder, .zip file or fsspec URL")
    parser.add_argument("-o", "--output", required=True, help="folder or writable fsspec URL")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing store")
    add_storage_option(parser)
    add_source_option(parser)
    parser.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from .ome._export import export_ome_zarr  # dask and the pyramid code: only for this verb

    with _progress(args)(f"exporting {args.source}") as progress:
        result = export_ome_zarr(
            args.source,
            args.output,
            overwrite=args.overwrite,
            storage_options=storage_options_from(args),
            source_options=source_options_from(args),
            progress=progress,
        )
    levels = ", ".join(f"{path} ({n} level{'s' * (n > 1)})" for path, n in result.images.items())
    print(f"wrote {result.destination} (OME-Zarr 0.5): {levels}")
    return 0
