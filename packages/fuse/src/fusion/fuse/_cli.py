"""``fusion fuse RECIPE -o OUT``: a thin verb over `fusion.fuse.fuse`."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register_fuse"]

DEVICES = ("auto", "cpu", "cuda")


def register_fuse(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fuse",
        help="run a recipe: instrument files and models into one fused dataset",
        description="Run a fusion recipe (YAML: inputs, then load / segment / generate / "
        "transfer / place steps) and write its output dataset atomically. A step whose "
        "result is in the work folder for the same inputs and parameters is not run again.",
    )
    parser.add_argument("recipe", help="recipe file (fusion-recipe/1 YAML)")
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument("--work", help="folder of step results (default: the fusion cache's fuse/)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--registry", help="registry file or URL (default: FUSION_REGISTRY)")
    parser.add_argument("--offline", action="store_true", default=None)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument(
        "--storage-option", action="append", metavar="KEY=VALUE",
        help="fsspec option for an output URL (repeatable), e.g. endpoint_url=http://127.0.0.1:9000",
    )  # fmt: skip
    parser.set_defaults(run=run_fuse)


def run_fuse(args: argparse.Namespace) -> int:
    from fusion.schema._cli import parse_storage_options

    from ._runner import fuse

    result = fuse(
        args.recipe, args.output, work=args.work, overwrite=args.overwrite,
        storage_options=parse_storage_options(args.storage_option), device=args.device,
        registry=args.registry, offline=args.offline, progress=args.progress,
        log=lambda line: print(line, file=sys.stderr),
    )  # fmt: skip
    reused = len(result.steps) - len(result.ran)
    print(
        f"wrote {result.output}: {len(result.steps)} steps, {len(result.ran)} ran, {reused} reused"
    )
    return 0
