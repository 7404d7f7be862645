"""Microstructure metrics: exact on constructed cases, and the training image's known numbers."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fusion.models.metrics import interface_density, two_point_correlation, volume_fractions


def test_training_image_fractions_match_its_readme(micrographs):
    image = tifffile.imread(micrographs / "nmc_sem_2d_3phase_628x758.tif")[0].astype(np.uint8)
    fractions = volume_fractions(image, [0, 1, 2])
    assert fractions == pytest.approx({0: 0.144, 1: 0.583, 2: 0.274}, abs=0.001)


def test_two_point_correlation_limits():
    rng = np.random.default_rng(0)
    labels = (rng.random((64, 64, 64)) < 0.3).astype(np.uint8)  # no spatial correlation
    s2 = two_point_correlation(labels, 1, axis=2, max_distance=8)
    assert s2[0] == pytest.approx(volume_fractions(labels, [1])[1])
    np.testing.assert_allclose(s2[1:], 0.09, atol=0.005)


def test_interface_density_is_the_same_along_every_axis_of_an_isotropic_volume():
    rng = np.random.default_rng(1)
    labels = (rng.random((48, 48, 48)) < 0.5).astype(np.uint8)
    densities = [interface_density(labels, 1, axis) for axis in range(3)]
    np.testing.assert_allclose(densities, 0.5, atol=0.01)  # p(change) = 2 p (1 - p)


def test_slab_along_one_axis_has_boundaries_only_along_that_axis():
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[:, :, 5:] = 1
    assert interface_density(labels, 1, 2) == pytest.approx(1 / 9)
    assert interface_density(labels, 1, 0) == 0 and interface_density(labels, 1, 1) == 0
