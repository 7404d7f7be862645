"""The ``segment-2d`` task: 2D segmenters, applied slice by slice (U-Net).

Card rules: no ``latent``. Check: the shared ONNX checks and the wrapped output conforming.
Runner: `fusion.models.segment` (tiled with overlap and blending, on the device and scheduler
asked for). Verb: ``fusion segment MODEL IN -o OUT``.
"""

from __future__ import annotations

import argparse
from typing import Any

from fusion.registry.tasks import CheckRequest, Task

from .._checks import check_onnx_entry
from .._cli import add_model_run_options, stored_fractions
from .._segment import segment
from .._wrap import wrap_for_check

__all__ = ["Segment2D", "register_segment"]


class Segment2D(Task):
    """``segment-2d``: a grayscale image becomes a label map of the card's phases."""

    name = "segment-2d"
    description = "label the pixels of a grayscale channel, slice by slice"
    run = staticmethod(segment)

    def card_problems(self, card: Any) -> list[str]:
        """A segmenter has no latent."""
        if card.latent is not None:
            return [f"task {card.task} is not a generator: remove `latent`"]
        return []

    def check(self, request: CheckRequest, result: Any) -> None:
        check_onnx_entry(request, result, wrap=wrap_for_check)

    def register_cli(self, subparsers: argparse._SubParsersAction) -> None:
        register_segment(subparsers)


def register_segment(subparsers: argparse._SubParsersAction) -> None:
    """The ``fusion segment`` verb."""
    parser = subparsers.add_parser(
        "segment",
        help="label a dataset's grayscale channel with a registered segmentation model",
        description="Segment the grayscale channel of a fused dataset (e.g. from `fusion load "
        "sem`) with a registered model (e.g. model:unet-nmc), tile by tile with overlap and "
        "blending, and write the input with a new label channel beside it, atomically.",
    )
    parser.add_argument("model", help="model:NAME[@VERSION]")
    parser.add_argument("input", help="fused dataset: folder, .zip file or fsspec URL")
    parser.add_argument("--channel", help="/group/name of the channel (default: the only one)")
    parser.add_argument("--name", help="name of the new channel (default: the card's, phase)")
    parser.add_argument("--tile", type=int, default=512, help="tile side in pixels")
    parser.add_argument("--overlap", type=int, default=64, help="tile overlap in pixels")
    add_model_run_options(parser)
    parser.set_defaults(run=run_segment)


def run_segment(args: argparse.Namespace) -> int:
    from fusion.schema import check_reachable, write
    from fusion.schema.cli_options import scheduler_from, storage_options_from, write_ome_view

    options = storage_options_from(args)
    with scheduler_from(args):
        check_reachable(args.output)
        with args.progress("segmenting", unit="tile") as update:
            tree = segment(
                args.input, args.model, channel=args.channel, name=args.name,
                device=args.device, tile=args.tile, overlap=args.overlap,
                registry=args.registry, offline=args.offline, storage_options=options,
                progress=update,
            )  # fmt: skip
            where = write(tree, args.output, overwrite=args.overwrite, storage_options=options)
        activities = tree.attrs["fusion"]["provenance"]["activities"]
        run = next(a for a in reversed(activities.values()) if a["type"] == "segment")
        (made,) = run["generated"]
        group, name = made.rsplit("/", 1)
        fractions = stored_fractions(where, options, group, name)
    print(f"wrote {where}: {made} from {run['parameters']['input_channel']} "
          f"on {run['parameters']['device']}; phases {fractions}")  # fmt: skip
    if view := write_ome_view(args, where, options):
        print(view)
    return 0
