"""Grain sizes: equivalent-sphere diameters from voxel counts, on the example and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.analysis import AnalysisError, grain_size_distribution
from fusion.schema import make_example


def test_example_grains_match_their_voxel_counts():
    particle = make_example(size="small")["particle"].to_dataset()
    ids = particle.grain_id.values
    sizes = grain_size_distribution(particle.grain_id)
    present = sorted(set(np.unique(ids)) - {0})
    assert sizes.grain.values.tolist() == present
    assert sizes.attrs["units"] == "um"
    for grain in present:
        volume = np.count_nonzero(ids == grain) * 0.05**3
        assert float(sizes.sel(grain=grain)) == pytest.approx((6 * volume / np.pi) ** (1 / 3))


def test_a_cube_and_an_absent_id():
    ids = np.zeros((10, 10, 10), dtype=np.int32)
    ids[:4, :4, :4] = 3  # 64 voxels of 0.5 x 0.5 x 2 µm = 32 µm³; ids 1 and 2 absent
    sizes = grain_size_distribution(ids, voxel_size_um=(0.5, 0.5, 2.0))
    assert sizes.grain.values.tolist() == [3]
    assert float(sizes[0]) == pytest.approx((6 * 32 / np.pi) ** (1 / 3))


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (np.full((2, 2, 2), -1), "grain ids must be >= 0"),
        (np.ones((2, 2), dtype=np.uint8), "expected 3 axes, got 2"),
        (np.ones((2, 2, 2), dtype=np.float64), "expected integer labels"),
    ],
)
def test_bad_grain_ids_are_refused(ids, message):
    with pytest.raises(AnalysisError, match=message):
        grain_size_distribution(ids, voxel_size_um=1.0)
