"""``fusion load KIND INPUT -o OUT``: read an instrument file and write it as a fused dataset."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from importlib.metadata import entry_points

from fusion.schema import write
from fusion.schema.cli_options import (
    add_ome_option,
    add_source_option,
    add_storage_option,
    source_options_from,
    storage_options_from,
    write_ome_view,
)

from ._base import LoaderWarning, load

__all__ = ["register_load"]


def register_load(subparsers: argparse._SubParsersAction) -> None:
    # entry-point names only: importing the readers (orix, rsciio) here would slow every verb
    kinds = sorted({entry.name for entry in entry_points(group="fusion.loaders")})
    parser = subparsers.add_parser(
        "load",
        help="convert an instrument file into a fused dataset",
        description="Read an instrument file with the field's own reader and write it, "
        f"atomically, as a dataset that conforms to the format. Kinds: {', '.join(kinds)}.",
    )
    parser.add_argument("kind", choices=kinds or None, help="technique")
    parser.add_argument(
        "input",
        nargs="+",
        help="instrument file (or folder of TIFF slices for xct; store folder or URL for "
        "ome-zarr; for ebsd serial sections several maps, a quoted glob or their folder)",
    )
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument(
        "--voxel-size",
        dest="voxel_size_um",  # the loaders' keyword: errors naming it are worded with the flag
        type=float,
        nargs="+",
        metavar="UM",
        help="voxel size in micrometres (one value, or z y x) where the file has none",
    )
    parser.add_argument(
        "--slice-spacing",
        dest="slice_spacing_um",  # the loaders' keyword: errors naming it name the flag
        type=float,
        metavar="UM",
        help="ebsd serial sections: distance between sections in micrometres (in no file)",
    )
    parser.add_argument(
        "--modality",
        help="technique that made the image, where the file does not say (ome-zarr): XCT, SEM, ...",
    )
    parser.add_argument(
        "--labels",
        nargs="+",
        metavar="VALUE=NAME",
        help="xct: the volume is segmented; its values are these labels (e.g. 0=rest 128=NMC), "
        "written as the label channel phase",
    )
    parser.add_argument("--material", default="unspecified", help="sample material to record")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_storage_option(parser)
    add_source_option(parser)
    add_ome_option(parser)
    parser.set_defaults(run=run_load)


def run_load(args: argparse.Namespace) -> int:
    options: dict[str, object] = {"material": args.material}
    if args.voxel_size_um is not None:
        options["voxel_size_um"] = tuple(args.voxel_size_um)
    if args.modality is not None:
        options["modality"] = args.modality
    if args.slice_spacing_um is not None:
        options["slice_spacing_um"] = args.slice_spacing_um
    if args.labels is not None:
        options["labels"] = args.labels
    if source := source_options_from(args):
        options["storage_options"] = source
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        tree = load(args.kind, _inputs(args.input), **options)
    where = write(
        tree, args.output, overwrite=args.overwrite, storage_options=storage_options_from(args)
    )
    notes = [str(w.message) for w in caught if issubclass(w.category, LoaderWarning)]
    summary = summarize(tree, where, notes)
    print(json.dumps(summary, indent=2) if args.json else _summary_line(summary))
    if view := write_ome_view(args, where, storage_options_from(args)):
        print(view, file=sys.stderr if args.json else sys.stdout)
    return 0


def _inputs(given: list[str]) -> str | list[str]:
    """One input as it is; several (or a quoted glob pattern) as a list."""
    if len(given) == 1 and not any(c in given[0] for c in "*?["):
        return given[0]
    return given


def summarize(tree, where: str, notes: list[str]) -> dict:
    """What was written: groups with shape, voxel size and channels; warnings of the loader."""
    groups = {}
    for name, child in tree.children.items():
        ds = child.to_dataset(inherit=False)
        groups[name] = {
            "dims": {str(d): int(n) for d, n in ds.sizes.items()},
            "channels": sorted(str(v) for v in ds.data_vars),
            "voxel_size_um": list(ds.fusion.voxel_size_um)
            if {"z", "y", "x"} <= set(ds.dims)
            else None,
        }
    return {"output": where, "title": tree.attrs["fusion"]["title"], "groups": groups,
            "warnings": notes}  # fmt: skip


def _summary_line(summary: dict) -> str:
    parts = []
    for name, group in summary["groups"].items():
        shape = "x".join(str(n) for n in group["dims"].values())
        voxel = group["voxel_size_um"]
        known = [f"{v:g}" if v is not None else "-" for v in voxel or []]
        size = (
            f" voxel (z, y, x) {' x '.join(known)} um"
            if any(v is not None for v in voxel or [])
            else ""
        )
        parts.append(f"{name} {shape}{size} [{', '.join(group['channels'])}]")
    text = f"wrote {summary['output']}: " + "; ".join(parts)
    for warning in summary["warnings"]:
        text += f"\nwarning: {warning}"
    return text
