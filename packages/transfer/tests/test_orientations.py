"""Orientations: one per grain, unit quaternions drawn from the map's grains, NaN elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from orix.quaternion import Orientation, symmetry
from transfer_maps import rotation

from fusion.transfer import GrainMap, assign_orientations

A, B = rotation([0, 0, 1], 10.0), rotation([1, 1, 0], 50.0)


def grain_volume(n_grains: int, shape=(2, 50, 60)) -> xr.DataArray:
    """Grain ids 1..n_grains repeated in raster order over all but the first row (0)."""
    ids = np.zeros(shape, dtype=np.uint32)
    ids[:, 1:] = 1 + np.arange(ids[:, 1:].size).reshape(ids[:, 1:].shape) % n_grains
    coords = {dim: np.arange(n, dtype=np.float64) for dim, n in zip("zyx", shape, strict=True)}
    return xr.DataArray(ids, dims=("z", "y", "x"), coords=coords, name="grain_id")


def two_grain_map(areas=(90, 10), point_group="m-3m") -> GrainMap:
    labels = np.repeat([1, 2], areas).reshape(1, -1)
    return GrainMap(
        labels=labels,
        orientations=np.array([A, B]),
        equivalent_diameters_um=np.sqrt(4 * np.array(areas, float) / np.pi),
        pixel_size_um=1.0,
        point_group=point_group,
        source="two.ang",
    )


def per_grain(q: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The quaternion of the first voxel of each grain 1..n, float64."""
    grains, first = np.unique(ids.ravel(), return_index=True)
    return q.reshape(-1, 4)[first[grains > 0]].astype(np.float64)


def drawn_from(orientations: np.ndarray, candidates: np.ndarray, pg) -> np.ndarray:
    """Index of the candidate each orientation is symmetry-equivalent to (-1: none)."""
    o = Orientation(orientations * [1, -1, -1, -1], pg)
    angles = np.stack(
        [o.angle_with(Orientation(c * [1, -1, -1, -1], pg), degrees=True) for c in candidates]
    )
    return np.where(angles.min(axis=0) < 1e-3, angles.argmin(axis=0), -1)


def test_one_unit_quaternion_per_grain_and_nan_outside():
    ids = grain_volume(500)
    q = assign_orientations(ids, two_grain_map(), seed=3)
    assert q.dims == ("z", "y", "x", "quat") and q.dtype == np.float32
    assert list(q.quat.values) == ["w", "x", "y", "z"]
    values, grains = q.values, ids.values
    assert np.isnan(values[grains == 0]).all()
    inside = values[grains > 0]
    np.testing.assert_allclose(np.linalg.norm(inside, axis=-1), 1, atol=1e-6)
    assert (inside[:, 0] >= 0).all()
    for grain in (1, 17, 500):
        assert len(np.unique(values[grains == grain], axis=0)) == 1


def test_orientations_are_the_maps_up_to_its_symmetry():
    ids = grain_volume(400)
    q = assign_orientations(ids, two_grain_map(), seed=0).values
    drawn = per_grain(q, ids.values)
    source = drawn_from(drawn, np.array([A, B]), symmetry.O)
    assert (source >= 0).all()
    # the symmetry variant is drawn: more than one of the 24 cubic equivalents occurs
    assert len(np.unique(np.round(drawn[source == 0], 4), axis=0)) > 5


@pytest.mark.parametrize(("weighting", "share_of_a"), [("area", 0.9), ("number", 0.5)])
def test_weighting_by_area_or_by_grain(weighting, share_of_a):
    ids = grain_volume(3000)
    q = assign_orientations(ids, two_grain_map(), seed=1, weighting=weighting).values
    source = drawn_from(per_grain(q, ids.values), np.array([A, B]), symmetry.O)
    assert np.mean(source == 0) == pytest.approx(share_of_a, abs=0.03)  # 3000 draws: sd < 0.01


def test_deterministic_for_a_seed():
    ids = grain_volume(50)
    first = assign_orientations(ids, two_grain_map(), seed=5).values
    np.testing.assert_array_equal(first, assign_orientations(ids, two_grain_map(), seed=5).values)
    assert not np.array_equal(
        first, assign_orientations(ids, two_grain_map(), seed=6).values, equal_nan=True
    )


def test_unknown_weighting_is_refused():
    with pytest.raises(ValueError, match="weighting must be 'area' or 'number'"):
        assign_orientations(grain_volume(2), two_grain_map(), seed=0, weighting="volume")
