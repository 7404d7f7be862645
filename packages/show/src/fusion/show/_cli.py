"""``fusion show``: a thin verb over `fusion.show.show`."""

from __future__ import annotations

import argparse

from fusion.schema.cli_options import add_storage_option, storage_options_from

from ._errors import ShowError

__all__ = ["register_show"]


def register_show(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="draw orthogonal slices of every channel as a PNG",
        description="Open a fused dataset with xarray and draw three orthogonal slices of each "
        "voxel channel into one PNG: phases in their flag colours, scalars with a colour bar, "
        "orientations as inverse-pole-figure colours of sample z, a scale bar in µm.",
    )
    parser.add_argument("path", help="folder, .zip file or fsspec URL of the dataset")
    parser.add_argument("-o", "--output", required=True, help="the PNG file to write")
    parser.add_argument(
        "--group", action="append", help="group to draw, e.g. particle (repeatable; default: all)"
    )
    parser.add_argument("--index", help="voxel z,y,x the slices pass through (default: the centre)")
    add_storage_option(parser)
    parser.set_defaults(run=run_show)


def parse_index(text: str | None) -> tuple[int, int, int] | None:
    """``"3,10,12"`` → ``(3, 10, 12)``."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        index = tuple(int(part) for part in parts)
    except ValueError:
        index = ()
    if len(index) != 3:
        raise ShowError(f"--index expects three integers z,y,x, got {text!r}")
    return index  # type: ignore[return-value]


def run_show(args: argparse.Namespace) -> int:
    from ._show import show

    shown = show(
        args.path, args.output, groups=args.group, index=parse_index(args.index),
        storage_options=storage_options_from(args),
    )  # fmt: skip
    print(f"wrote {shown.path}: {shown.panels} panels of {len(shown.channels)} channels "
          f"({', '.join(shown.channels)})")  # fmt: skip
    return 0
