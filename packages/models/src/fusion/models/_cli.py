"""``fusion generate``: a thin verb over `fusion.models.generate`."""

from __future__ import annotations

import argparse

from ._device import DEVICES

__all__ = ["register_generate"]


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
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument("--registry", help="registry file or URL (default: FUSION_REGISTRY)")
    parser.add_argument("--offline", action="store_true", default=None)
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from fusion.schema import write

    from ._generate import generate

    tree = generate(
        args.model, args.shape, seed=args.seed, device=args.device,
        registry=args.registry, offline=args.offline,
    )  # fmt: skip
    where = write(tree, args.output, overwrite=args.overwrite)
    group = next(iter(tree.children.values())).to_dataset()
    run = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]["parameters"]
    fractions = ""
    if "phase" in group:
        fractions = " phases " + ", ".join(
            f"{k} {v:.3f}" for k, v in group.fusion.phase_fractions().items()
        )
    print(f"wrote {where}: {tuple(args.shape)} on {run['device']}, seed {args.seed};{fractions}")
    return 0
