"""Synthetic EBSD maps with known grains, shaped as the EBSD loader's trees."""

from __future__ import annotations

import numpy as np
import xarray as xr

from fusion.schema import SCHEMA_ID

STAMP = "2026-01-01T00:00:00+00:00"


def rotation(axis, degrees: float) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation by ``degrees`` about ``axis``."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    half = np.radians(degrees) / 2
    return np.concatenate([[np.cos(half)], np.sin(half) * axis])


def ebsd_tree(quats: np.ndarray, point_group: str = "m-3m", step_um: float = 0.5) -> xr.DataTree:
    """A loaded-EBSD-like tree: phase 1 (``ferrite``) where ``quats`` (y, x, 4) is finite,
    -1 (``not_indexed``) where it is NaN; the file entity ``synthetic.ang``."""
    ny, nx, _ = quats.shape
    indexed = np.isfinite(quats).all(axis=-1)
    coords = {
        "z": xr.Variable("z", [0.0], {"units": "um"}),
        "y": xr.Variable("y", step_um * np.arange(ny, dtype=np.float64), {"units": "um"}),
        "x": xr.Variable("x", step_um * np.arange(nx, dtype=np.float64), {"units": "um"}),
        "quat": xr.Variable("quat", np.array(["w", "x", "y", "z"], dtype=object)),
    }
    common = {"units": "1", "modality": "EBSD", "origin": "measured", "provenance": "load"}
    phase = xr.Variable(
        ("z", "y", "x"),
        np.where(indexed, 1, -1).astype(np.int32)[np.newaxis],
        {**common, "long_name": "EBSD phase", "flag_values": [-1, 1],
         "flag_meanings": "not_indexed ferrite", "phase_names": {"ferrite": "Ferrite (bcc)"}},
    )  # fmt: skip
    orientation = xr.Variable(
        ("z", "y", "x", "quat"),
        quats[np.newaxis],
        {**common, "long_name": "crystal orientation", "rotation": "crystal_to_sample",
         "crystal_symmetry": {"ferrite": point_group}, "phase_channel": "phase"},
    )  # fmt: skip
    root = {
        "schema": SCHEMA_ID,
        "title": "synthetic.ang",
        "sample": {"material": "synthetic"},
        "created": STAMP,
        "modified": STAMP,
        "provenance": {
            "entities": {
                "raw": {"type": "file", "name": "synthetic.ang", "sha256": "0" * 64, "size": 1}
            },
            "activities": {
                "load": {
                    "type": "load",
                    "software": {"name": "tests", "version": "0"},
                    "started": STAMP,
                    "ended": STAMP,
                    "used": ["raw"],
                    "generated": ["/ebsd/phase", "/ebsd/orientation"],
                }
            },
            "agents": {},
        },
    }
    group = xr.Dataset({"phase": phase, "orientation": orientation}, coords=coords)
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"fusion": root}), "/ebsd": group})


def two_regions(left: np.ndarray, right: np.ndarray, shape=(8, 12)) -> np.ndarray:
    """Quaternions (y, x, 4): ``left`` in the left half of the map, ``right`` in the other."""
    quats = np.empty((*shape, 4))
    quats[:, : shape[1] // 2] = left
    quats[:, shape[1] // 2 :] = right
    return quats
