"""Grains of a 3-D EBSD volume (MTEX's 59 real serial sections of bcc iron): face neighbours
across sections join, so a grain is one body through the sections; its orientation is the
mean of its voxels; and the crystallography transfer takes a volume as it takes a map."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from transfer_volumes import ball_phases, phase_tree

from fusion.loaders import LoaderWarning, load
from fusion.schema import validate
from fusion.transfer import add_crystallography, ebsd_grains
from fusion.transfer._quaternions import as_orix

SPACING_UM = 0.4  # the in-plane step: MTEX's example is read at about that spacing too


@pytest.fixture(scope="module")
def volume(instruments):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)  # the stale headers
        files = sorted((instruments / "ebsd" / "serial_sections").glob("S*.ANG"))
        return load("ebsd", files, slice_spacing_um=SPACING_UM)


@pytest.fixture(scope="module")
def grains(volume):
    return ebsd_grains(volume, threshold_deg=5.0, min_pixels=5)


def test_grains_are_bodies_through_the_sections(volume, grains):
    assert grains.labels.shape == (59, 40, 35)
    assert grains.slice_spacing_um == pytest.approx(SPACING_UM)
    spans = [np.unique(np.nonzero(grains.labels == k)[0]).size
             for k in range(1, grains.labels.max() + 1)]  # fmt: skip
    assert max(spans) > 10  # some grains run through many sections
    per_section = sum(np.unique(grains.labels[z][grains.labels[z] > 0]).size for z in range(59))
    assert grains.labels.max() < per_section / 3  # sections of one grain are one label


def test_neighbours_across_sections_join_exactly_below_the_threshold(volume, grains):
    quats = volume["ebsd"].orientation.values
    labels = grains.labels
    lower, upper = labels[:-1], labels[1:]  # face neighbours across consecutive sections
    both = (lower > 0) & (upper > 0)
    angles = as_orix(quats[:-1][both], grains.point_group).angle_with(
        as_orix(quats[1:][both], grains.point_group), degrees=True
    )
    same = lower[both] == upper[both]
    assert same.sum() > 1000 and (~same).sum() > 0
    assert np.all(angles[~same] >= 5.0 - 1e-6)  # a pair below the threshold is one grain
    assert np.median(angles[same]) < 2.0


def test_grain_orientations_are_unit_and_near_their_voxels(volume, grains):
    assert np.allclose(np.linalg.norm(grains.orientations, axis=1), 1)
    quats = volume["ebsd"].orientation.values
    k = int(np.argmax(grains.areas_px)) + 1
    voxels = quats[grains.labels == k]
    mean = np.repeat(grains.orientations[k - 1][np.newaxis], len(voxels), axis=0)
    angles = as_orix(voxels, grains.point_group).angle_with(
        as_orix(mean, grains.point_group), degrees=True
    )
    assert np.median(angles) < 15.0  # gradients build up along a grain, bounded


def test_a_2d_map_keeps_its_2d_labels(volume):
    first = volume.copy()
    first["ebsd"] = volume["ebsd"].isel(z=[0])
    grains = ebsd_grains(first)
    assert grains.labels.ndim == 2 and grains.slice_spacing_um is None
    assert len(grains.equivalent_diameters_um) == grains.labels.max()


def test_the_transfer_takes_a_volume(volume):
    tree = phase_tree(ball_phases())
    out = add_crystallography(tree, "particle", volume, seed=1, point_group="m-3m")
    assert validate(out, level="data").ok
    grain_id = out["particle"].grain_id.values
    assert grain_id.max() > 1 and np.all(grain_id[out["particle"].phase.values != 1] == 0)
