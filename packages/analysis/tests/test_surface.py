"""Specific surface area by face counting: exact cases, a sphere, the real volume's README."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import xarray as xr

from fusion.analysis import ISOTROPIC_CORRECTION, AnalysisError, specific_surface_area


def _on_grid(values: np.ndarray, voxel_um: tuple[float, float, float]) -> xr.DataArray:
    coords = {
        dim: (dim, 3.0 + h * np.arange(n), {"units": "um"})
        for dim, n, h in zip(("z", "y", "x"), values.shape, voxel_um, strict=True)
    }
    return xr.DataArray(values, dims=("z", "y", "x"), coords=coords)


def test_flat_interface_is_counted_exactly_without_the_correction():
    slab = np.zeros((10, 6, 8), dtype=np.uint8)
    slab[4:] = 1  # one plane of 6 x 8 faces normal to z
    h = (0.2, 0.5, 0.4)
    area = 6 * 8 * h[1] * h[2]
    volume = slab.size * np.prod(h)
    raw = specific_surface_area(_on_grid(slab, h), 1, isotropic_correction=False)
    assert raw == pytest.approx(area / volume)
    assert specific_surface_area(_on_grid(slab, h), 0, isotropic_correction=False) == raw
    corrected = specific_surface_area(_on_grid(slab, h), 1)
    assert corrected == pytest.approx(ISOTROPIC_CORRECTION * area / volume)  # the stated bias


def test_sphere_area_is_unbiased_with_the_isotropic_correction():
    n, radius, h = 64, 20.0, 0.1
    grid = np.indices((n, n, n)) - (n - 1) / 2
    ball = (np.sqrt((grid**2).sum(axis=0)) <= radius).astype(np.uint8)
    expected = 4 * np.pi * (radius * h) ** 2 / (n * h) ** 3
    estimate = specific_surface_area(ball, 1, voxel_size_um=h)
    assert estimate == pytest.approx(expected, rel=0.02)
    raw = specific_surface_area(ball, 1, voxel_size_um=h, isotropic_correction=False)
    assert raw == pytest.approx(1.5 * expected, rel=0.02)  # face counting: 6πr², not 4πr²


def test_real_volume_face_counts_match_its_readme(micrographs):
    labels = tifffile.imread(micrographs / "nmc_xct_3d_3phase_128cube.tif")
    per_voxel = {
        label: specific_surface_area(labels, label, voxel_size_um=1.0, isotropic_correction=False)
        for label in (0, 1, 2)
    }
    assert per_voxel == pytest.approx({0: 0.199, 1: 0.150, 2: 0.349}, abs=0.001)


def test_units_are_inverse_micrometres_from_the_coordinates():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, (6, 7, 8)).astype(np.uint8)
    fine = specific_surface_area(_on_grid(labels, (0.05,) * 3), 1)
    coarse = specific_surface_area(_on_grid(labels, (0.4,) * 3), 1)
    assert fine == pytest.approx(8 * coarse)
    assert fine == pytest.approx(specific_surface_area(labels, 1, voxel_size_um=0.05))


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.zeros((3, 3, 3), np.uint8), {}, "needs the voxel size"),
        (np.zeros((3, 3, 3), np.uint8), {"voxel_size_um": -1.0}, "must be positive"),
        (
            _on_grid(np.zeros((3, 3, 3), np.uint8), (1, 1, 1)),
            {"voxel_size_um": 1.0},
            "only for numpy",
        ),
    ],
)
def test_bad_voxel_sizes_are_refused(data, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        specific_surface_area(data, 1, **kwargs)


def test_coordinates_not_in_micrometres_or_irregular_are_refused():
    nm = _on_grid(np.zeros((3, 3, 3), np.uint8), (1, 1, 1))
    nm["x"].attrs["units"] = "nm"
    with pytest.raises(AnalysisError, match="coordinate 'x' is in 'nm'; expected um"):
        specific_surface_area(nm, 1)
    irregular = nm.assign_coords(x=("x", [0.0, 1.0, 3.0]))
    with pytest.raises(AnalysisError, match="coordinate 'x' is not increasing with one regular"):
        specific_surface_area(irregular, 1)
