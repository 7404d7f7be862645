"""``fusion fuse RECIPE -o OUT``: a thin verb over `fusion.fuse.fuse`."""

from __future__ import annotations

import argparse
import sys

from fusion.models import add_model_run_options
from fusion.schema.cli_options import scheduler_from, storage_options_from

__all__ = ["register_fuse"]


def register_fuse(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fuse",
        help="run a recipe: instrument files and models into one fused dataset",
        description="Run a fusion recipe (YAML: inputs, then load / segment / generate / "
        "transfer / place steps) and write its output dataset atomically. A step whose "
        "result is in the work folder for the same inputs and parameters is not run again.",
    )
    parser.add_argument("recipe", help="recipe file (fusion-recipe/1 YAML)")
    parser.add_argument("--work", help="folder of step results (default: the fusion cache's fuse/)")
    add_model_run_options(parser)
    parser.set_defaults(run=run_fuse)


def run_fuse(args: argparse.Namespace) -> int:
    from ._runner import fuse

    with scheduler_from(args):  # generation and segmentation tiles run where it says
        result = fuse(
            args.recipe, args.output, work=args.work, overwrite=args.overwrite,
            storage_options=storage_options_from(args), device=args.device,
            registry=args.registry, offline=args.offline, progress=args.progress,
            log=lambda line: print(line, file=sys.stderr),
        )  # fmt: skip
    reused = len(result.steps) - len(result.ran)
    print(
        f"wrote {result.output}: {len(result.steps)} steps, {len(result.ran)} ran, {reused} reused"
    )
    return 0
