"""The ``generate-3d`` task: seeded generators of 3D volumes (SliceGAN).

Card rules: a ``latent`` input, the ``seed`` of the test tensors, a voxel size on every
channel. Check: the shared ONNX checks, the latent being what the seed draws, and the wrapped
output conforming. Runner: `fusion.models.generate` (tiled, on the device and scheduler asked
for). Verb: ``fusion generate MODEL --shape Z Y X -o OUT``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from fusion.registry.tasks import CheckRequest, Task

from .._checks import check_onnx_entry
from .._cli import add_model_run_options, stored_fractions, voxel_size_arg
from .._generate import generate, output_nbytes, output_words
from .._open import resolve_model
from .._wrap import wrap_for_check

__all__ = ["Generate3D", "latent_problems", "register_generate"]


class Generate3D(Task):
    """``generate-3d``: a latent drawn from a seed becomes a (z, y, x) volume."""

    name = "generate-3d"
    description = "sample a 3D volume from a seeded latent"
    run = staticmethod(generate)

    def card_problems(self, card: Any) -> list[str]:
        """A generator declares its latent, the seed of its test tensors and its voxel size."""
        if card.latent is None:
            return [f"task {card.task} is a generator: `latent` is required"]
        problems = []
        if card.test_tensors.seed is None:
            problems.append("a generator's test_tensors need the `seed` used, got None")
        missing = [c.name for c in card.channels if c.voxel_size_um is None]
        if missing:
            problems.append(f"a generator's channels need voxel_size_um; missing for {missing}")
        return problems

    def check(self, request: CheckRequest, result: Any) -> None:
        check_onnx_entry(request, result, tensor_rules=latent_problems, wrap=wrap_for_check)

    def register_cli(self, subparsers: argparse._SubParsersAction) -> None:
        register_generate(subparsers)


def latent_problems(card: Any, tensors: Mapping[str, np.ndarray]) -> list[str]:
    """The test latent must be what the card's seed draws."""
    from fusion.registry import draw_latent

    latent, seed = tensors[card.latent.tensor], card.test_tensors.seed
    if np.array_equal(draw_latent(card.latent, latent.shape, seed), latent):
        return []
    return [
        f"{card.latent.tensor!r} is not what seed {seed} draws "
        f"({card.latent.distribution}, {card.latent.rng})"
    ]


def register_generate(subparsers: argparse._SubParsersAction) -> None:
    """The ``fusion generate`` verb."""
    parser = subparsers.add_parser(
        "generate",
        help="sample a registered generator into a fused dataset",
        description="Generate a volume with a registered model (e.g. model:slicegan-nmc) and "
        "write it atomically as a fused dataset with provenance.",
    )
    parser.add_argument("model", help="model:NAME[@VERSION]")
    parser.add_argument("--shape", type=int, nargs=3, required=True, metavar=("Z", "Y", "X"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--voxel-size", type=float, nargs="+", metavar="UM",
        help="voxel size in µm (one value, or Z Y X) instead of the model card's",
    )  # fmt: skip
    add_model_run_options(parser)
    parser.set_defaults(run=run_generate)


def check_output_room(args: argparse.Namespace) -> None:
    """Before the model opens: refuse an output the target's disk cannot hold
    (`fusion.schema.check_room`), and say so where it fits only if it compresses well."""
    from fusion.schema import check_room, room_note

    card = resolve_model(args.model, registry=args.registry, offline=args.offline).card
    if card.latent is None:
        return  # generate() refuses it, in its words
    room = check_room(args.output, output_nbytes(card, args.shape), output_words(card, args.shape))
    if note := room_note(room):
        print(note, file=sys.stderr)


def run_generate(args: argparse.Namespace) -> int:
    from fusion.schema import check_reachable, write
    from fusion.schema.cli_options import scheduler_from, storage_options_from, write_ome_view

    options = storage_options_from(args)
    with scheduler_from(args):
        check_reachable(args.output)
        check_output_room(args)
        tree = generate(
            args.model, args.shape, seed=args.seed, device=args.device,
            voxel_size_um=voxel_size_arg(args.voxel_size), registry=args.registry,
            offline=args.offline,
        )  # fmt: skip
        where = write(tree, args.output, overwrite=args.overwrite, storage_options=options)
        fractions = stored_fractions(where, options, next(iter(tree.children)), "phase")
    run = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]["parameters"]
    shown = f" phases {fractions}" if fractions else ""
    print(f"wrote {where}: {tuple(args.shape)} on {run['device']}, seed {args.seed};{shown}")
    if view := write_ome_view(args, where, options):
        print(view)
    return 0
