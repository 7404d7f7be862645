"""``fusion generate`` and ``fusion segment``: thin verbs over `fusion.models.generate` and
`fusion.models.segment`, on the scheduler ``--scheduler`` names, to and from fsspec URLs."""

from __future__ import annotations

import argparse

from fusion.schema.cli_options import (
    add_scheduler_options,
    add_storage_option,
    scheduler_from,
    storage_options_from,
)

from ._device import DEVICES

__all__ = ["add_model_run_options", "register_generate", "register_segment"]


def add_model_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every verb that runs registered models and writes a dataset: where it
    runs (``--device``, ``--scheduler``), where the models come from, and where it writes."""
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--registry", help="registry file or URL (default: FUSION_REGISTRY)")
    parser.add_argument("--offline", action="store_true", default=None)
    parser.add_argument("--overwrite", action="store_true")
    add_storage_option(parser)
    add_scheduler_options(parser)


def register_generate(subparsers: argparse._SubParsersAction) -> None:
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


def run_generate(args: argparse.Namespace) -> int:
    from fusion.schema import check_reachable, write

    from ._generate import generate

    options = storage_options_from(args)
    with scheduler_from(args):
        check_reachable(args.output)
        tree = generate(
            args.model, args.shape, seed=args.seed, device=args.device,
            voxel_size_um=_voxel_size(args.voxel_size), registry=args.registry,
            offline=args.offline,
        )  # fmt: skip
        where = write(tree, args.output, overwrite=args.overwrite, storage_options=options)
        fractions = stored_fractions(where, options, next(iter(tree.children)), "phase")
    run = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]["parameters"]
    shown = f" phases {fractions}" if fractions else ""
    print(f"wrote {where}: {tuple(args.shape)} on {run['device']}, seed {args.seed};{shown}")
    return 0


def stored_fractions(where: str, options: dict, group: str, name: str) -> str | None:
    """``"pore 0.143, NMC 0.583, ..."`` of a label channel as written (read back from the store,
    so the model does not run a second time); None when the group has no such channel."""
    from ._segment import open_tree

    stored = open_tree(where, options)[group].to_dataset(inherit=False)
    if name not in stored:
        return None
    return ", ".join(f"{k} {v:.3f}" for k, v in stored.fusion.phase_fractions(name).items())


def _voxel_size(values: list[float] | None) -> float | tuple[float, ...] | None:
    if values is None or len(values) == 1:
        return None if values is None else values[0]
    if len(values) != 3:
        raise ValueError(f"--voxel-size takes one value or three (Z Y X), got {len(values)}")
    return tuple(values)


def register_segment(subparsers: argparse._SubParsersAction) -> None:
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

    from ._segment import segment

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
    return 0
