"""What the verbs of the model tasks share (``fusion generate``, ``fusion segment``, and
``fusion fuse``): the run options, the voxel-size argument and the phase fractions printed.
Each verb lives with its task (`fusion.models.tasks`)."""

from __future__ import annotations

import argparse

from fusion.schema.cli_options import add_ome_option, add_scheduler_options, add_storage_option

from ._device import DEVICES

__all__ = ["add_model_run_options", "stored_fractions", "voxel_size_arg"]


def add_model_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every verb that runs registered models and writes a dataset: where it
    runs (``--device``, ``--scheduler``), where the models come from, and where it writes
    (``--ome-zarr``: its OME-Zarr view too)."""
    parser.add_argument("-o", "--output", required=True, help="folder, .zip file or fsspec URL")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--registry", help="registry file or URL (default: FUSION_REGISTRY)")
    parser.add_argument("--offline", action="store_true", default=None)
    parser.add_argument("--overwrite", action="store_true")
    add_storage_option(parser)
    add_scheduler_options(parser)
    add_ome_option(parser)


def stored_fractions(where: str, options: dict, group: str, name: str) -> str | None:
    """``"pore 0.143, NMC 0.583, ..."`` of a label channel as written (read back from the store,
    so the model does not run a second time); None when the group has no such channel."""
    from ._segment import open_tree

    stored = open_tree(where, options)[group].to_dataset(inherit=False)
    if name not in stored:
        return None
    return ", ".join(f"{k} {v:.3f}" for k, v in stored.fusion.phase_fractions(name).items())


def voxel_size_arg(values: list[float] | None) -> float | tuple[float, ...] | None:
    """``--voxel-size``: one value (isotropic) or three (z, y, x), in µm.

    >>> voxel_size_arg([0.5]), voxel_size_arg([1, 2, 2]), voxel_size_arg(None)
    (0.5, (1, 2, 2), None)
    """
    if values is None or len(values) == 1:
        return None if values is None else values[0]
    if len(values) != 3:
        raise ValueError(f"--voxel-size takes one value or three (Z Y X), got {len(values)}")
    return tuple(values)
