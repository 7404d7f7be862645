"""fusion.training.slicegan.training_data: which real 2D images a SliceGAN run learns from, in
which orientation (one image, one slice of a volume, or one slice normal to each axis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from fusion.models import metrics

XCT = Path(__file__).resolve().parents[4] / "shared/data/micrographs/nmc_xct_3d_3phase_128cube.tif"


@pytest.fixture(scope="module")
def td():
    from fusion.training.slicegan import training_data

    return training_data


def coded_volume(shape=(6, 8, 10)) -> np.ndarray:
    """Labels 0..2 that differ along every axis, so any slice or transpose mix-up shows."""
    x, y, z = np.indices(shape)
    return ((x + 2 * y + 4 * z) % 3).astype(np.uint8)


@pytest.fixture
def volume_file(tmp_path) -> tuple[Path, np.ndarray]:
    volume = coded_volume()
    path = tmp_path / "volume.tif"
    tifffile.imwrite(path, volume)
    return path, volume


@pytest.mark.parametrize("axis, index", [(0, 1), (1, 5), (2, 0), (2, 9)])
def test_slice_of_a_volume_is_the_plane_normal_to_the_axis(td, volume_file, axis, index):
    path, volume = volume_file
    (image,) = td.training_images(path, 3, slice_axis=axis, slice_index=index)
    where = [slice(None)] * 3
    where[axis] = index  # volume[index], volume[:, index] or volume[:, :, index]
    expected = volume[tuple(where)]
    np.testing.assert_array_equal(image, expected)


def test_central_slice_is_the_default(td, volume_file):
    path, volume = volume_file
    (image,) = td.training_images(path, 3, slice_axis=1)
    np.testing.assert_array_equal(image, volume[:, 4, :])  # 8 // 2


def test_anisotropic_gives_one_slice_per_axis_in_original_axis_order(td, volume_file):
    path, volume = volume_file
    images = td.training_images(path, 3, anisotropic=True, slice_index=2)
    assert [im.shape for im in images] == [(8, 10), (6, 10), (6, 8)]  # (Y, Z), (X, Z), (X, Y)
    for axis, image in enumerate(images):
        np.testing.assert_array_equal(image, np.take(volume, 2, axis=axis))


def test_anisotropic_central_slices_of_the_xct_volume(td):
    if not XCT.exists():
        pytest.skip(f"{XCT} not present")
    volume = tifffile.imread(XCT)
    images = td.training_images(XCT, 3, anisotropic=True)
    for axis, image in enumerate(images):
        assert image.shape == (128, 128)
        np.testing.assert_array_equal(image, np.take(volume, 64, axis=axis))


def test_stride_keeps_every_nth_pixel_after_slicing(td, volume_file):
    path, volume = volume_file
    (image,) = td.training_images(path, 3, stride=2, slice_axis=2, slice_index=3)
    np.testing.assert_array_equal(image, volume[::2, ::2, 3])


def test_a_2d_image_is_used_as_it_is(td, tmp_path):
    image = coded_volume((1, 9, 7))  # a 2D TIFF as (1, H, W), as the SEM file reads
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image.astype(np.float32))
    (found,) = td.training_images(path, 3)
    np.testing.assert_array_equal(found, image[0])
    assert found.dtype == np.uint8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"anisotropic": True}, "needs a 3D volume"),
        ({"slice_axis": 1}, "given for a 2D image"),
        ({"slice_index": 3}, "given for a 2D image"),
    ],
)
def test_slice_settings_are_refused_for_a_2d_image(td, tmp_path, kwargs, message):
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, coded_volume((1, 9, 7)))
    with pytest.raises(ValueError, match=message):
        td.training_images(path, 3, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"slice_axis": 3}, "slice axis must be 0, 1 or 2, got 3"),
        ({"slice_axis": 0, "slice_index": 6}, "slice index 6 is outside axis 0 of length 6"),
        ({"stride": 0}, "image stride must be ≥ 1, got 0"),
    ],
)
def test_bad_slice_settings_are_refused(td, volume_file, kwargs, message):
    path, _ = volume_file
    with pytest.raises(ValueError, match=message):
        td.training_images(path, 3, **kwargs)


def test_wrong_labels_name_the_file(td, tmp_path):
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, np.arange(27, dtype=np.uint8).reshape(3, 3, 3))
    with pytest.raises(ValueError, match=r"grey\.tif: expected labels 0\.\.2"):
        td.training_images(path, 3)


def test_a_slice_lacking_a_phase_is_refused(td, tmp_path):
    volume = coded_volume()
    volume[:, :, 0] = 1  # the slice normal to axis 2 at index 0 is all NMC
    path = tmp_path / "volume.tif"
    tifffile.imwrite(path, volume)
    with pytest.raises(ValueError, match=r"no pixels of phase\(s\) \[0, 2\]"):
        td.training_images(path, 3, slice_axis=2, slice_index=0)


# --- which pixels the critic sees: crops at uniform positions of the mirror-padded image

SEM = XCT.parent / "nmc_sem_2d_3phase_628x758.tif"


@pytest.mark.parametrize("length, size", [(128, 64), (314, 64), (379, 64), (70, 64)])
def test_half_crop_padding_makes_the_coverage_flat(td, length, size):
    """Without padding the first pixel is in 1 crop in ``size``; with size/2 of mirror padding
    every pixel (mirror copies counted) is in ``size`` or ``size + 1`` of them."""
    bare = td.crop_coverage(length, size, 0)
    assert bare[0] == 1 and bare.max() == min(size, length - size + 1)
    padded = td.crop_coverage(length, size, size // 2)
    assert padded.min() == size and padded.max() <= size + 1
    # every crop start covers `size` pixels: nothing is lost or counted twice
    assert padded.sum() == (length + 2 * (size // 2) - size + 1) * size


def test_coverage_counts_mirror_copies_for_the_pixels_they_copy(td):
    """Brute force on a small axis: pad an index ramp symmetrically, count every crop."""
    length, size, padding = 9, 4, 3
    source = np.pad(np.arange(length), padding, mode="symmetric")
    counts = np.zeros(length)
    for start in range(len(source) - size + 1):
        np.add.at(counts, source[start : start + size], 1)
    np.testing.assert_array_equal(td.crop_coverage(length, size, padding), counts)


def test_uniform_crop_positions_show_the_critic_less_nmc_than_the_image_has(td):
    """The SEM image's NMC sits near its edges: crops at uniform positions of the bare image
    (the SliceGAN reference code's sampling) see NMC 0.520 against the image's 0.583, a bias
    six times the 0.01 fraction target. Mirror padding by half a crop removes it."""
    image = td.training_images(SEM, 3, stride=2)[0]  # (314, 379), as the flagship trains
    fractions = np.array([(image == p).mean() for p in range(3)])
    np.testing.assert_allclose(fractions, [0.1430, 0.5827, 0.2743], atol=1e-4)
    bare = td.seen_fractions(image, 3, 64, 0)
    np.testing.assert_allclose(bare, [0.1582, 0.5195, 0.3223], atol=1e-4)
    padded = td.seen_fractions(image, 3, 64, 32)
    assert np.abs(padded - fractions).max() < 0.001


@pytest.mark.parametrize(
    "length, padding, message",
    [(128, 128, r"crop padding must be in \[0, 128\)"), (40, 10, "smaller than the 64-px crops")],
)
def test_bad_crop_padding_is_refused(td, length, padding, message):
    with pytest.raises(ValueError, match=message):
        td.crop_coverage(length, 64, padding)


def test_docstring_examples_hold(td):
    import doctest

    assert doctest.testmod(td).failed == 0


def layers_along(axis: int, shape=(8, 10, 12), period: int = 4) -> np.ndarray:
    """Two phases in layers: boundaries only along ``axis``, two per ``period`` voxels."""
    position = np.indices(shape)[axis]
    return ((position // (period // 2)) % 2).astype(np.uint8)


def boundaries_per_pair(length: int, period: int = 4) -> float:
    """Interface density of `layers_along` along its layered axis: boundaries at every
    multiple of period/2 inside the axis, over its length − 1 neighbouring pairs."""
    return len(range(period // 2, length, period // 2)) / (length - 1)


def test_the_three_slices_predict_a_layered_volumes_interfaces_on_each_axis(td):
    volume = layers_along(2)
    images = [td.volume_slice(volume, axis, td.CENTRAL) for axis in range(3)]
    expected = td.expected_interface_density(images, 2, transposed=False)
    assert expected.shape == (3, 2)
    np.testing.assert_allclose(expected[:2], 0.0)  # no boundary along axes 0 and 1
    np.testing.assert_allclose(expected[2], boundaries_per_pair(12))  # both phases, axis 2


def test_one_image_gives_each_volume_axis_the_image_axes_it_is_seen_along(td):
    image = layers_along(1, shape=(10, 12))  # boundaries along its axis 1 only
    stripes = boundaries_per_pair(12)
    # untransposed: axis 0 is always the slice's first axis, axis 2 always its second, axis 1 both
    fixed = td.expected_interface_density([image], 2, transposed=False)
    np.testing.assert_allclose(fixed[:, 1], [0.0, stripes / 2, stripes])
    # transposed crops show every axis both image axes
    mixed = td.expected_interface_density([image], 2, transposed=True)
    np.testing.assert_allclose(mixed[:, 1], [stripes / 2] * 3)


def test_one_image_gives_each_volume_axis_the_image_axes_two_point_correlation(td):
    """S2 follows the same rule as the interface density: layers along the image's axis 1 are
    uncorrelated beyond their period there, and constant (S2 = fraction) along its axis 0."""
    image = layers_along(1, shape=(10, 12))
    s2 = metrics.two_point_correlation
    along_rows, along_columns = (s2(image, 1, a, 6)[1:] for a in (0, 1))
    np.testing.assert_allclose(along_rows, 0.5)  # every column is constant
    # 0011 0011 0011 along a row: pairs both in phase 1 over the row's 12 − r pairs
    np.testing.assert_allclose(along_columns, [3 / 11, 0.0, 2 / 9, 4 / 8, 2 / 7], atol=1e-12)
    fixed = td.expected_two_point([image], 2, 5, transposed=False)  # (3, P, 5)
    assert fixed.shape == (3, 2, 5)
    np.testing.assert_allclose(
        fixed[:, 1], [along_rows, (along_rows + along_columns) / 2, along_columns]
    )
    mixed = td.expected_two_point([image], 2, 5, transposed=True)
    np.testing.assert_allclose(mixed[:, 1], [(along_rows + along_columns) / 2] * 3)
    # a label volume's own curves, per axis: the same layers stacked as a volume
    volume = layers_along(2, shape=(6, 6, 12))
    np.testing.assert_allclose(
        td.label_two_point(volume, 2, 5)[:, 1], [[0.5] * 5, [0.5] * 5, along_columns]
    )


def test_the_xct_volumes_central_slices_predict_its_per_axis_interfaces(td):
    """The anisotropic form's three real slices show the calendered electrode's anisotropy: each
    phase's interface density per axis within 6 % of the whole volume's, NMC's highest along
    axis 2 (through the thickness)."""
    from fusion.models.metrics import interface_density

    volume = td.read_labels(XCT, 3)
    images = td.training_images(XCT, 3, anisotropic=True)
    expected = td.expected_interface_density(images, 3, transposed=False)
    real = np.array([[interface_density(volume, p, a) for p in range(3)] for a in range(3)])
    np.testing.assert_allclose(expected, real, rtol=0.06)
    assert expected[2, 1] > 1.25 * expected[:2, 1].max()


def test_interface_expectation_refuses_a_form_it_does_not_know(td):
    image = layers_along(1, shape=(10, 12))
    with pytest.raises(ValueError, match="isotropic form"):
        td.expected_interface_density([image] * 3, 2, transposed=True)
    with pytest.raises(ValueError, match="got 2"):
        td.expected_interface_density([image] * 2, 2, transposed=False)
