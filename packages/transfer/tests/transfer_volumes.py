"""Synthetic phase volumes for the transfer tests: overlapping NMC balls with a CBD rim."""

from __future__ import annotations

import datetime as dt

import numpy as np
import xarray as xr

from fusion.schema import SCHEMA_ID

VOXEL_UM = 0.3
PHASES = {"pore": 0, "NMC": 1, "CBD": 2}


def ball_phases(n: int = 32, radius: float = 10.0, seed: int = 0) -> np.ndarray:
    """Overlapping balls of NMC in pore, a one-voxel CBD rim on them (pore 0, NMC 1, CBD 2)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.mgrid[:n, :n, :n], axis=-1)
    inside = np.zeros((n, n, n), dtype=bool)
    rim = np.zeros((n, n, n), dtype=bool)
    for centre in rng.uniform(0, n, (max(2, int((n / radius) ** 3 / 4)), 3)):
        distance = np.linalg.norm(grid - centre, axis=-1)
        inside |= distance < radius
        rim |= distance < radius + 1
    labels = np.where(inside, PHASES["NMC"], np.where(rim, PHASES["CBD"], PHASES["pore"]))
    return labels.astype(np.uint8)


def phase_tree(labels: np.ndarray, voxel_um: float = VOXEL_UM) -> xr.DataTree:
    """A fused dataset with one group ``particle`` holding the label channel ``phase``."""
    stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).isoformat()
    coords = {
        dim: xr.Variable(dim, voxel_um * np.arange(n, dtype=np.float64), {"units": "um"})
        for dim, n in zip("zyx", labels.shape, strict=True)
    }
    phase = xr.Variable(
        ("z", "y", "x"),
        labels,
        {
            "long_name": "phase label",
            "units": "1",
            "modality": "FIB-SEM",
            "origin": "generated",
            "provenance": "generate-balls",
            "flag_values": list(PHASES.values()),
            "flag_meanings": " ".join(PHASES),
        },
    )
    root = {
        "schema": SCHEMA_ID,
        "title": "ball particles",
        "sample": {"material": "synthetic"},
        "created": stamp,
        "modified": stamp,
        "provenance": {
            "entities": {},
            "activities": {
                "generate-balls": {
                    "type": "generate",
                    "software": {"name": "tests", "version": "0"},
                    "started": stamp,
                    "ended": stamp,
                    "generated": ["/particle/phase"],
                }
            },
            "agents": {},
        },
    }
    return xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs={"fusion": root}),
            "/particle": xr.Dataset({"phase": phase}, coords=coords),
        }
    )
