"""One orientation per grain, drawn from the grain orientations of a real EBSD map.

Each grain draws (seeded) one grain of the map, with probability proportional to that grain's
area (``weighting="area"``: the volume's orientation distribution by volume then matches the
map's by area, its texture) or equal for every map grain (``"number"``). The drawn mean
orientation is multiplied by a symmetry operation of the map's proper point group, drawn
uniformly: the map cannot tell these equivalents apart, and a crystal of lower symmetry (NMC,
-3m, from a hexagonal map, 6/mmm) thereby gets each of its variants with equal chance.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from ._ebsd import GrainMap
from ._quaternions import multiply, positive_w, proper_operations

__all__ = ["ORIENTATION_STREAM", "assign_orientations"]

ORIENTATION_STREAM = 1
"""Second word of the seed of the orientation draws: a stream apart from the nucleation's."""


def assign_orientations(
    grain_id: xr.DataArray,
    grains: GrainMap,
    *,
    seed: int,
    weighting: Literal["area", "number"] = "area",
) -> xr.DataArray:
    """Give every grain of ``grain_id`` one orientation drawn from ``grains``.

    Parameters
    ----------
    grain_id
        Grain ids on (z, y, x); 0 = no grain.
    grains
        Grains of a real EBSD map (`ebsd_grains`).
    seed
        Seed of the draws; the same seed gives the same orientations.
    weighting
        ``area``: a map grain is drawn with probability proportional to its area; ``number``:
        every map grain equally.

    Returns
    -------
    xarray.DataArray
        Unit quaternions (w, x, y, z; ``w >= 0``; crystal-to-sample) on (z, y, x, quat),
        float32; all four NaN where ``grain_id`` is 0.
    """
    if weighting not in ("area", "number"):
        raise ValueError(f"weighting must be 'area' or 'number', got {weighting!r}")
    ids = np.asarray(grain_id.values)
    n = int(ids.max()) if ids.size else 0
    rng = np.random.default_rng([seed, ORIENTATION_STREAM])
    weights = grains.areas_px.astype(np.float64) if weighting == "area" else None
    picks = rng.choice(len(grains.orientations), size=n, p=_normalised(weights))
    operations = proper_operations(grains.point_group)
    variants = rng.integers(len(operations), size=n)
    table = np.full((n + 1, 4), np.nan)
    table[1:] = positive_w(multiply(grains.orientations[picks], operations[variants]))
    quat = xr.Variable("quat", np.array(["w", "x", "y", "z"], dtype=object))
    return xr.DataArray(
        table[ids].astype(np.float32),
        coords={**{dim: grain_id[dim] for dim in ("z", "y", "x")}, "quat": quat},
        dims=("z", "y", "x", "quat"),
        name="orientation",
    )


def _normalised(weights: np.ndarray | None) -> np.ndarray | None:
    return None if weights is None else weights / weights.sum()
