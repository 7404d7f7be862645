"""EELS loader: every real .dm3/.dm4/.msa file against the values its README gives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fusion.loaders import LoaderError, LoaderWarning, load
from fusion.loaders.eels import _eels_signals, increasing_axis, spatial_um
from fusion.loaders.testing import LoaderConformance


class TestDm3Conformance(LoaderConformance):
    kind = "eels"
    suffix = ".dm3"

    @pytest.fixture(params=["test-EELS_spectrum.dm3", "EELS_STO.dm3"])
    def path(self, request, instruments):
        return instruments / "eels" / request.param


class TestDm4Conformance(LoaderConformance):
    kind = "eels"
    suffix = ".dm4"

    @pytest.fixture
    def path(self, instruments):
        return instruments / "eels" / "EELS_SI.dm4"


class TestMsaConformance(LoaderConformance):
    kind = "eels"
    suffix = ".msa"

    @pytest.fixture(params=["coreloss_spectrum.msa", "lowloss_spectrum.msa"])
    def path(self, request, instruments):
        return instruments / "eels" / request.param


# file -> (y, x) pixels, energy offset and dispersion in eV, dtype, (min, max, mean) of the data,
#         attributes the README gives
EXPECTED = {
    "EELS_SI.dm4": (
        (2, 2),
        (300.0, 1.0),
        "float32",
        (-27.7214, 8634.402, 875.1305),
        {
            "brightness_scale": 0.1285347,
            "convergence_semi_angle_mrad": 21.0,
            "collection_semi_angle_mrad": 62.0,
            "exposure_s": 0.01995,
            "frames": 1,
            "beam_energy_kV": 200.0,
            "acquired": "2019-05-14T20:50:13",
            "dual_acquire_enabled": 1,
        },
    ),
    "test-EELS_spectrum.dm3": (
        (1, 1),
        (-100.0, 0.5),
        "float32",
        (-366.4346, 305.0203, -3.7493),
        {
            "convergence_semi_angle_mrad": 21.0,
            "collection_semi_angle_mrad": 0.0,
            "exposure_s": 7e-05,
            "frames": 50,
            "magnification": 640000.0,
            "camera_length_mm": 135.0,
            "spectrometer_aperture": "5 mm",
            "acquired": "2016-08-08T19:35:17",
            "brightness_scale": 0.1285347,
        },
    ),
    "EELS_STO.dm3": (
        (1, 1),
        (350.0, 0.25),
        "float32",
        (21983.0, 235408.0, 79472.52),
        {
            "beam_energy_kV": 200.0,
            "convergence_semi_angle_mrad": 30.0,
            "collection_semi_angle_mrad": 33.0,
            "exposure_s": 2.0,
            "frames": 10,
            "integration_time_s": 20.0,
            "spectrometer": "Enfinium ER NION",
            "microscope": "Unknown",
            "brightness_scale": 1.0,
        },
    ),
    "coreloss_spectrum.msa": ((1, 1), (360.0, 0.2), "float64", (12620, 47353, 22959.028), {}),
    "lowloss_spectrum.msa": (
        (1, 1),
        (-40.0, 0.2),
        "float64",
        (-15, 44384, 612.491),
        {"acquired": "2012-09-04T23:14:00"},
    ),
}


@pytest.fixture(scope="module")
def eels(instruments):
    """Load a file once per module: (scale group, tree)."""
    cache = {}

    def get(name):
        if name not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("error", LoaderWarning)
                tree = load("eels", instruments / "eels" / name)
            cache[name] = (tree["eels"].to_dataset(), tree)
        return cache[name]

    return get


@pytest.mark.parametrize("name", EXPECTED)
def test_spectrum_shape_energy_axis_and_data(eels, name):
    ds, tree = eels(name)
    pixels, (offset, dispersion), dtype, (low, high, mean), _ = EXPECTED[name]
    spectrum = ds.spectrum
    assert list(tree.children) == ["eels"]
    assert spectrum.dims == ("z", "y", "x", "energy_loss")
    assert spectrum.shape == (1, *pixels, 2048) and spectrum.dtype == dtype
    values = spectrum.values
    np.testing.assert_allclose(
        (values.min(), values.max(), values.mean()), (low, high, mean), rtol=1e-5
    )
    loss = ds.energy_loss
    assert loss.dtype == np.float64 and loss.attrs["units"] == "eV"
    assert loss.values[0] == pytest.approx(offset)
    np.testing.assert_allclose(np.diff(loss.values), dispersion)
    assert loss.values[-1] == pytest.approx(offset + 2047 * dispersion)
    assert spectrum.attrs["units"] == "counts"
    assert (spectrum.attrs["modality"], spectrum.attrs["origin"]) == ("EELS", "measured")


@pytest.mark.parametrize("name", EXPECTED)
def test_acquisition_settings_are_attributes(eels, name):
    ds, _ = eels(name)
    attrs = ds.spectrum.attrs
    for key, value in EXPECTED[name][-1].items():
        assert attrs[key] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-4))


def test_sto_date_is_december_2019(eels):
    ds, _ = eels("EELS_STO.dm3")
    assert ds.spectrum.attrs["acquired"].startswith("2019-12-14")


def test_spectrum_image_is_reordered_from_energy_first(eels, instruments):
    from rsciio.digitalmicrograph import file_reader

    ds, _ = eels("EELS_SI.dm4")
    raw = file_reader(str(instruments / "eels" / "EELS_SI.dm4"))[0]["data"]  # (E, y, x)
    np.testing.assert_array_equal(ds.spectrum.values[0], np.moveaxis(raw, 0, -1))
    for dim in ("y", "x"):
        np.testing.assert_allclose(ds[dim].values, [0.0, 0.0019920736], rtol=1e-7)


@pytest.mark.parametrize("name", ["test-EELS_spectrum.dm3", "lowloss_spectrum.msa"])
def test_single_spectrum_is_one_voxel_at_the_origin(eels, name):
    ds, _ = eels(name)
    for dim in ("z", "y", "x"):
        assert ds[dim].values.tolist() == [0.0] and ds[dim].attrs["units"] == "um"


def test_truncated_msa_on_a_line_boundary_is_refused(instruments, tmp_path):
    lines = (instruments / "eels" / "coreloss_spectrum.msa").read_text().splitlines(True)
    cut = tmp_path / "cut.msa"
    cut.write_text("".join(lines[:100]))
    with pytest.raises(LoaderError, match="truncated: NPOINTS says 2048") as info:
        load("eels", cut)
    assert "cut.msa" in str(info.value)


def test_a_broken_velox_file_is_named(tmp_path):
    emd = tmp_path / "scan.emd"
    emd.write_bytes(b"\x89HDF\r\n\x1a\n")  # the signature, nothing after it
    with pytest.raises(LoaderError, match=r"scan\.emd: RosettaSciIO cannot read it as Velox EMD"):
        load("eels", emd)


# -- synthetic reader output: cases no shared file has ---------------------------------------


def _signal(kind, title):
    return {"metadata": {"General": {"title": title}, "Signal": {"signal_type": kind}}}


def test_other_signals_are_left_out_with_a_warning(tmp_path):
    path = tmp_path / "mixed.dm4"
    signals = [_signal("", "HAADF"), _signal("EELS", "SI"), _signal("EDS_TEM", "EDS")]
    with pytest.warns(LoaderWarning, match=r"not EELS, not loaded: HAADF \(untyped\), EDS"):
        assert _eels_signals(path, signals) == [signals[1]]
    with pytest.raises(LoaderError, match="no EELS signal"):
        _eels_signals(path, [signals[0]])


def test_negative_dispersion_is_flipped_to_increasing(tmp_path):
    data = np.arange(8.0).reshape(2, 4)
    axis = {"name": "Energy loss", "size": 4, "scale": -0.5, "offset": 10.0}
    flipped, loss = increasing_axis(tmp_path / "x.dm3", data, -1, axis)
    np.testing.assert_array_equal(loss, [8.5, 9.0, 9.5, 10.0])
    np.testing.assert_array_equal(flipped[0], [3.0, 2.0, 1.0, 0.0])


def test_uncalibrated_spectrum_image_needs_a_voxel_size(tmp_path):
    path = tmp_path / "si.dm3"
    axes = [{"name": "y", "units": ""}, {"name": "x", "units": ""}]
    with pytest.raises(LoaderError, match="voxel_size_um") as info:
        spatial_um(path, axes, [1.0, 1.0], [0.0, 0.0], None)
    assert "si.dm3" in str(info.value)
    steps, origins = spatial_um(path, axes, [1.0, 1.0], [0.0, 0.0], 0.05)
    assert steps == (0.05, 0.05) and origins == (0.0, 0.0)


def test_nanometre_calibration_is_converted_to_micrometres(tmp_path):
    axes = [{"name": "y", "units": "nm"}, {"name": "x", "units": "nm"}]
    steps, origins = spatial_um(tmp_path / "si.dm4", axes, [2.0, 4.0], [10.0, 0.0], None)
    assert steps == pytest.approx((0.002, 0.004)) and origins == pytest.approx((0.01, 0.0))


def test_large_dm_files_stay_lazy(monkeypatch, instruments, eels):
    from fusion.loaders import eels as module

    monkeypatch.setattr(module, "LAZY_BYTES", 0)
    tree = load("eels", instruments / "eels" / "EELS_SI.dm4")
    lazy = tree["eels"].to_dataset()
    assert lazy.spectrum.chunks is not None
    np.testing.assert_array_equal(lazy.spectrum.values, eels("EELS_SI.dm4")[0].spectrum.values)
    assert tree.attrs["fusion_ends_when_written"] == ["load"]  # read when written: ends then
    monkeypatch.undo()
    eager = load("eels", instruments / "eels" / "EELS_SI.dm4")
    assert "fusion_ends_when_written" not in eager.attrs


@pytest.mark.parametrize(
    "tags",
    [
        {"a": [1, 2.5, 3], "b": [1, 2], "c": [0.1] * 5000, "d": [1] * 4097},
        {"e": [float("nan"), 1], "f": [2**70], "g": [2**70, 1.5], "h": [True, 1], "i": []},
        {"nested": {"j": [[1.5, 2]], "k": (1, 2)}},
    ],
)
def test_dm_tag_lists_are_kept_as_numpy_arrays_would_be(tags):
    from fusion.loaders._provenance import original_metadata
    from fusion.loaders.eels import _as_arrays

    def via_numpy(tree):
        if isinstance(tree, dict):
            return {key: via_numpy(value) for key, value in tree.items()}
        if isinstance(tree, list) and tree and set(map(type, tree)) <= {int, float}:
            return np.asarray(tree)
        return tree

    assert original_metadata(_as_arrays(tags)) == original_metadata(via_numpy(tags))
