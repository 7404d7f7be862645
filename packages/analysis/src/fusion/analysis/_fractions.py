"""`volume_fractions`: the share of voxels holding each phase label."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._grid import integer_labels, voxel_grid

__all__ = ["volume_fractions"]


def volume_fractions(phase: np.ndarray | xr.DataArray) -> dict[int, float]:
    """Fraction of all voxels holding each label.

    Parameters
    ----------
    phase
        Integer labels, any shape. A DataArray with ``flag_values`` (a fusion label channel)
        lists every flag value, with 0.0 for those that do not occur; otherwise the labels that
        occur are listed.

    Returns
    -------
    dict
        Label value → fraction; the fractions sum to 1.

    Examples
    --------
    >>> volume_fractions(np.array([[0, 2], [2, 2]]))
    {0: 0.25, 2: 0.75}
    """
    values, _ = voxel_grid(phase, None, "volume_fractions")
    values = integer_labels(values, "volume_fractions")
    labels, counts = np.unique(values, return_counts=True)
    fractions = {int(v): float(c) / values.size for v, c in zip(labels, counts, strict=True)}
    flags = getattr(phase, "attrs", {}).get("flag_values")
    if flags is None:
        return fractions
    return {int(v): fractions.get(int(v), 0.0) for v in flags} | fractions
