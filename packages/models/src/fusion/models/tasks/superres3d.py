"""The ``super-resolve-3d`` task: a coarse 3D particle map becomes pore / NMC / CBD ``sf`` times
finer (SuperRes).

Card rules: two inputs, the coarse indicator and the ``latent`` noise on the same grid (its
``seed`` in the test tensors, ``numpy-philox-blocks`` so that tiles draw their own windows); a
``labels`` channel; output sizes ``sf·(l − context)`` with ``context`` even. Check: the shared
ONNX checks, the noise being what the seed draws, and the wrapped output conforming. Runner:
`fusion.models.superres`. Verb: ``fusion superres MODEL IN -o OUT``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from fusion.registry.tasks import CheckRequest, Task

from .._checks import check_onnx_entry
from .._cli import add_model_run_options, stored_fractions
from .._generate import size_rule
from .._superres import TASK, superres
from .generate3d import latent_problems

__all__ = ["SuperResolve3D", "register_superres", "wrap_superres_for_check"]


class SuperResolve3D(Task):
    """``super-resolve-3d``: a coarse particle map and seeded noise become a finer phase map."""

    name = TASK
    description = "predict a finer 3D phase map from a coarse particle map"
    run = staticmethod(superres)

    def card_problems(self, card: Any) -> list[str]:
        """Two inputs, one of them the latent noise drawn counter-based; a size rule that tiles."""
        if card.latent is None:
            return [f"task {card.task} needs `latent`: the noise input"]
        problems = []
        if len(card.inputs) != 2:
            problems.append(f"{card.task} takes the coarse indicator and the noise, got "
                            f"{[t.name for t in card.inputs]}")  # fmt: skip
        if card.latent.rng != "numpy-philox-blocks":
            problems.append("the noise must be `numpy-philox-blocks`, so that tiles draw it")
        if card.test_tensors.seed is None:
            problems.append("the test_tensors need the `seed` the noise was drawn with")
        if len(card.channels) != 1 or card.channels[0].transform != "identity":
            problems.append("one `identity` channel of the labels output")
        try:
            _, context = size_rule(card)
            if context % 2:
                problems.append(f"the context {context} must be even (half on each side)")
        except ValueError as err:
            problems.append(str(err))
        return problems

    def check(self, request: CheckRequest, result: Any) -> None:
        check_onnx_entry(
            request, result, tensor_rules=latent_problems, wrap=wrap_superres_for_check
        )

    def register_cli(self, subparsers: argparse._SubParsersAction) -> None:
        register_superres(subparsers)


def wrap_superres_for_check(
    request: Any, inputs: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> xr.DataTree:
    """The test tensors' labels as `fusion.models.superres` writes them: a coarse group of
    the test input at 1 µm and its fine group, with the ``super-resolve`` activity."""
    from fusion.schema.provenance import new_root, record

    from .._superres import _with_group, coarse_input

    card = request.card
    scale, context = size_rule(card)
    halo = context // 2
    coarse = np.asarray(inputs[coarse_input(card)][0, 0])[(slice(halo, -halo),) * 3]
    flags = {"flag_values": [0, 1], "flag_meanings": "rest NMC", "units": "1",
             "long_name": "particles", "modality": "XCT", "origin": "measured",
             "provenance": "test-input"}  # fmt: skip
    axes = {
        a: (a, np.arange(n, dtype=np.float64), {"units": "um"})
        for a, n in zip("zyx", coarse.shape, strict=True)
    }
    particles = xr.DataArray(
        coarse.astype(np.uint8), dims=("z", "y", "x"), coords=axes, attrs=flags
    )
    tree = xr.DataTree.from_dict({
        "/": xr.Dataset(attrs={"fusion": new_root("registry check")}),
        "/coarse": particles.to_dataset(name="particles"),
    })  # fmt: skip
    tree = record(
        tree, "load", activity_id="test-input", generated=["/coarse/particles"],
        parameters={"test_tensors": request.ref}, software="fusion-models",
    )  # fmt: skip
    return _with_group(
        tree, "coarse_fine", np.asarray(outputs[card.channels[0].tensor][0]), particles, scale,
        card.channels[0], used="/coarse/particles", model=(request.ref, request.sha256),
        parameters={"seed": card.test_tensors.seed}, started=None,
    )  # fmt: skip


def register_superres(subparsers: argparse._SubParsersAction) -> None:
    """The ``fusion superres`` verb."""
    parser = subparsers.add_parser(
        "superres",
        help="predict a finer 3D phase map from a coarse one with a registered model",
        description="Super-resolve the particle label channel of a fused dataset (a label "
        "channel whose flag_meanings name NMC) with a registered model (e.g. "
        "model:superres-nmc-xct), tile by tile, and write the input with a new, finer scale "
        "group covering the same extent, atomically.",
    )
    parser.add_argument("model", help="model:NAME[@VERSION]")
    parser.add_argument("input", help="fused dataset: folder, .zip file or fsspec URL")
    parser.add_argument("--channel", help="/group/name of the label channel (default: the one "
                        "whose flag_meanings name NMC)")  # fmt: skip
    parser.add_argument("--group", help="name of the new fine group (default: GROUP_x<sf>)")
    parser.add_argument("--region", type=region_arg, metavar="Z0:Z1,Y0:Y1,X0:X1",
                        help="only these coarse cells (half-open index ranges)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--tile", type=int, help="coarse cells per tile edge (default: auto)")
    add_model_run_options(parser)
    parser.set_defaults(run=run_superres)


def check_output_room(output: str, tree: xr.DataTree, group: str) -> None:
    """Before any tile runs (the fine phase is still lazy): refuse an output the target's
    disk cannot hold."""
    from fusion.schema import check_room, room_note

    phase = tree[group.strip("/")]["phase"]
    words = f"a {'×'.join(map(str, phase.shape))} phase map (uint8)"
    if note := room_note(check_room(output, phase.nbytes, words)):
        print(note, file=sys.stderr)


def region_arg(text: str) -> list[tuple[int, int]]:
    """``z0:z1,y0:y1,x0:x1`` → three half-open ranges.

    >>> region_arg("0:16,8:40,8:40")
    [(0, 16), (8, 40), (8, 40)]
    """
    try:
        ranges = [tuple(int(v) for v in part.split(":")) for part in text.split(",")]
    except ValueError:
        ranges = []
    if len(ranges) != 3 or any(len(r) != 2 for r in ranges):
        raise argparse.ArgumentTypeError(f"expected Z0:Z1,Y0:Y1,X0:X1, got {text!r}")
    return [(int(a), int(b)) for a, b in ranges]


def run_superres(args: argparse.Namespace) -> int:
    from fusion.schema import check_reachable, write
    from fusion.schema.cli_options import scheduler_from, storage_options_from, write_ome_view

    options = storage_options_from(args)
    with scheduler_from(args):
        check_reachable(args.output)
        tree = superres(
            args.input, args.model, channel=args.channel, group=args.group,
            region=args.region, seed=args.seed,
            device=args.device, tile=args.tile or "auto", registry=args.registry,
            offline=args.offline, storage_options=options,
        )  # fmt: skip
        activities = tree.attrs["fusion"]["provenance"]["activities"]
        run = next(a for a in reversed(activities.values()) if a["type"] == "super-resolve")
        (made,) = run["generated"]
        group, name = made.rsplit("/", 1)
        check_output_room(args.output, tree, group)
        where = write(tree, args.output, overwrite=args.overwrite, storage_options=options)
    shape = "×".join(str(n) for n in tree[group.strip("/")]["phase"].shape)
    fractions = stored_fractions(where, options, group, name)
    print(f"wrote {where}: {made} ({shape}) from {run['parameters']['input_channel']} "
          f"×{run['parameters']['scale_factor']}, seed {args.seed}, on "
          f"{run['parameters']['device']}; phases {fractions}")  # fmt: skip
    if view := write_ome_view(args, where, options):
        print(view)
    return 0
