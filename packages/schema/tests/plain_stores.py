"""Stores built with plain xarray and zarr, never with fusion's writer, for the validator tests."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import xarray as xr

STAMP = "2026-01-15T10:00:00+00:00"


def plain_root_attrs() -> dict:
    return {
        "schema": "fusion/0.1",
        "title": "plain store",
        "sample": {"material": "NMC811"},
        "created": STAMP,
        "modified": STAMP,
        "provenance": {
            "entities": {
                "scan": {"type": "file", "name": "scan.ang", "sha256": "ab" * 32, "size": 1024}
            },
            "activities": {
                "gen": {
                    "type": "generate",
                    "software": {"name": "tests", "version": "1"},
                    "started": STAMP,
                    "ended": STAMP,
                    "used": ["scan"],
                    "generated": [
                        "/particle/phase",
                        "/particle/grey",
                        "/particle/orientation",
                        "/particle/composition",
                    ],
                    "agents": ["lab"],
                }
            },
            "agents": {"lab": {"type": "group", "name": "a lab"}},
        },
    }


def channel_attrs(**extra) -> dict:
    base = {
        "long_name": "a channel",
        "units": "1",
        "modality": "SEM",
        "origin": "generated",
        "provenance": "gen",
    }
    return {**base, **extra}


def plain_scale_group(shape=(3, 4, 5), voxel=0.5) -> xr.Dataset:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, shape).astype(np.uint8)
    quats = np.zeros((*shape, 4), np.float32)
    quats[..., 0] = 1.0
    composition = np.full((*shape, 2), 0.5, np.float32)
    coords = {
        d: (d, voxel * np.arange(n, dtype=np.float64), {"units": "um"})
        for d, n in zip("zyx", shape, strict=True)
    }
    coords["quat"] = ("quat", np.array(["w", "x", "y", "z"], dtype=object))
    coords["element"] = ("element", np.array(["Ni", "O"], dtype=object))
    return xr.Dataset(
        {
            "phase": (
                ("z", "y", "x"),
                labels,
                channel_attrs(flag_values=[0, 1, 2], flag_meanings="pore NMC CBD"),
            ),
            "grey": (("z", "y", "x"), rng.random(shape, dtype=np.float32), channel_attrs()),
            "orientation": (
                ("z", "y", "x", "quat"),
                quats,
                channel_attrs(
                    modality="EBSD",
                    rotation="crystal_to_sample",
                    crystal_symmetry={"NMC": "-3m"},
                    phase_channel="phase",
                ),
            ),
            "composition": (
                ("z", "y", "x", "element"),
                composition,
                channel_attrs(modality="EELS"),
            ),
        },
        coords=coords,
    )


def plain_tree() -> xr.DataTree:
    return xr.DataTree.from_dict(
        {"/": xr.Dataset(attrs={"fusion": plain_root_attrs()}), "/particle": plain_scale_group()}
    )


def write_plain(tree: xr.DataTree, path, consolidated: bool = False) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree.to_zarr(path, mode="w", consolidated=consolidated, zarr_format=3)


def deep(tree: xr.DataTree) -> xr.DataTree:
    out = tree.copy(deep=True)
    out.attrs = copy.deepcopy(dict(tree.attrs))
    return out
