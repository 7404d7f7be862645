"""Grains of EBSD maps: known synthetic grains, and the real twinned magnesium map."""

from __future__ import annotations

import numpy as np
import pytest
from orix.quaternion import Orientation, symmetry
from transfer_maps import ebsd_tree, rotation, two_regions

from fusion.transfer import TransferError, ebsd_grains
from fusion.transfer._quaternions import multiply

BASE = rotation([1, 2, 3], 37.0)


@pytest.mark.parametrize(("threshold", "grains"), [(5.0, 2), (15.0, 1)])
def test_two_regions_ten_degrees_apart(threshold, grains):
    tilted = multiply(BASE, rotation([0, 0, 1], 10.0))
    found = ebsd_grains(ebsd_tree(two_regions(BASE, tilted)), threshold_deg=threshold)
    assert found.labels.max() == grains == len(found.orientations)
    assert set(np.unique(found.labels)) == set(range(1, grains + 1))  # every pixel indexed


def test_three_degrees_across_a_symmetry_operation_is_one_grain():
    # 93 degrees apart as rotations, 3 degrees apart as cubic crystals (a 90-degree <001> operation)
    equivalent = multiply(multiply(BASE, rotation([0, 0, 1], 90.0)), rotation([1, 0, 0], 3.0))
    quats = two_regions(BASE, equivalent)
    assert ebsd_grains(ebsd_tree(quats, "m-3m")).labels.max() == 1
    assert ebsd_grains(ebsd_tree(quats, "-1")).labels.max() == 2  # no such symmetry: two grains


def test_grain_mean_is_the_orientation_whatever_equivalent_the_pixels_hold():
    rng = np.random.default_rng(0)
    cubic = np.asarray(symmetry.O.data)
    quats = two_regions(BASE, BASE)
    noise = [rotation(rng.normal(size=3), 0.5) for _ in range(quats[..., 0].size)]
    quats = multiply(quats.reshape(-1, 4), np.array(noise))
    quats = multiply(quats, cubic[rng.integers(len(cubic), size=len(quats))])  # any equivalent
    quats *= rng.choice([-1.0, 1.0], size=(len(quats), 1))  # and either sign
    found = ebsd_grains(ebsd_tree(quats.reshape(8, 12, 4)))
    assert found.orientations.shape == (1, 4) and found.orientations[0, 0] >= 0
    mean = Orientation(found.orientations * [1, -1, -1, -1], symmetry.O)
    angle = mean.angle_with(Orientation(BASE * [1, -1, -1, -1], symmetry.O), degrees=True)
    assert angle[0] < 0.2


def test_diameters_pixel_size_and_small_grains_dropped():
    quats = two_regions(BASE, multiply(BASE, rotation([0, 1, 0], 20.0)), shape=(6, 10))
    quats[0, 0:3] = rotation([1, 0, 0], 45.0)  # a 3-pixel grain, under min_pixels
    quats[5, 9] = np.nan  # not indexed
    found = ebsd_grains(ebsd_tree(quats, step_um=0.5), min_pixels=5)
    assert found.pixel_size_um == 0.5 and found.source == "synthetic.ang"
    assert found.point_group == "m-3m" and found.phase == "ferrite"
    assert (found.labels[0, :3] == 0).all() and found.labels[5, 9] == 0
    np.testing.assert_array_equal(found.areas_px, [27, 29])
    np.testing.assert_allclose(
        found.equivalent_diameters_um, np.sqrt(4 * 0.25 * np.array([27, 29]) / np.pi)
    )
    assert found.min_area_um2 == pytest.approx(5 * 0.25)


def test_real_map_grains_follow_the_definition(twins, twins_grains):
    grains = twins_grains
    assert grains.source == "twins.ctf" and grains.point_group == "6/mmm"
    assert grains.phase == "Magnesium" and grains.pixel_size_um == pytest.approx(0.3)
    assert grains.labels.shape == (137, 167) and len(grains.orientations) == grains.labels.max()
    assert grains.areas_px.min() >= 5
    np.testing.assert_allclose(np.linalg.norm(grains.orientations, axis=1), 1, atol=1e-9)
    # neighbours misoriented below 5 degrees are never in two different grains
    quats = twins["ebsd"].orientation.values[0]
    pg = symmetry.D6h.proper_subgroup
    for axis in (0, 1):
        a = np.moveaxis(grains.labels, axis, 0)
        qa = np.moveaxis(quats, axis, 0)
        both = (a[:-1] > 0) & (a[1:] > 0)
        close = np.zeros_like(both)
        first = Orientation(qa[:-1][both] * [1, -1, -1, -1], pg)
        second = Orientation(qa[1:][both] * [1, -1, -1, -1], pg)
        close[both] = first.angle_with(second, degrees=True) < 5.0
        assert (a[:-1][close] == a[1:][close]).all()
        assert (a[:-1][both & ~close] != a[1:][both & ~close]).any()  # and boundaries exist
    # a larger threshold only merges grains
    assert ebsd_grains(twins, threshold_deg=15.0).labels.max() < grains.labels.max()


def test_phase_by_word_or_verbatim_name_and_the_default(duplex):
    by_word = ebsd_grains(duplex, phase="austenite_austenite")
    by_name = ebsd_grains(duplex, phase="austenite/austenite")
    np.testing.assert_array_equal(by_word.labels, by_name.labels)
    # the default: the phase with most points (ferrite 6043 > austenite 5657)
    assert ebsd_grains(duplex).phase == "ferrite_ferrite"
    indexed_as_austenite = duplex["ebsd"].phase.values[0] == 1
    assert not (by_word.labels[~indexed_as_austenite]).any()


def test_missing_phase_is_an_error_naming_the_file(duplex):
    with pytest.raises(TransferError, match=r"sdss_ferrite_austenite\.ang: no phase 'NMC'; phases"):
        ebsd_grains(duplex, phase="NMC")


def test_map_without_indexed_pixels_is_an_error_naming_the_file():
    quats = np.full((4, 5, 4), np.nan)
    with pytest.raises(TransferError, match=r"synthetic\.ang: no indexed pixel of phase 'ferrite'"):
        ebsd_grains(ebsd_tree(quats))


def test_map_without_a_grain_of_min_pixels_is_an_error():
    with pytest.raises(TransferError, match=r"synthetic\.ang: no grain .* 100 pixels or more"):
        ebsd_grains(ebsd_tree(two_regions(BASE, BASE, shape=(4, 4))), min_pixels=100)
