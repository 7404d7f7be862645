"""SEM loader: every real SEM file in ../shared/data/instruments/sem, checked against its README."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import tifffile
import xarray as xr

from fusion.cli import main as fusion_main
from fusion.loaders import LoaderError, load
from fusion.loaders.sem import find_data_zone
from fusion.loaders.testing import LoaderConformance

FEI = "sem/FEI-Helios-Ebeam-16bits.tif"
ZEISS_1K = "sem/test_tiff_Zeiss_SEM_1k.tif"
ZEISS_FIB = "sem/ZEISS_SEM_multipage.tif"


class TestSemConformance(LoaderConformance):
    kind = "sem"
    suffix = ".tif"

    @pytest.fixture(params=[FEI, ZEISS_1K, ZEISS_FIB])
    def path(self, request, instruments):
        return instruments / request.param


@pytest.fixture(scope="module")
def trees(instruments):
    """Each real file loaded once for the science checks below."""
    return {name: load("sem", instruments / name) for name in (FEI, ZEISS_1K, ZEISS_FIB)}


def _channel(tree: xr.DataTree, group: str = "image") -> xr.DataArray:
    return tree[group].to_dataset()["intensity"]


# -- FEI Helios NanoLab 660 -----------------------------------------------------------------------


def test_fei_crops_the_29_row_databar_and_keeps_uint16(trees, instruments):
    intensity = _channel(trees[FEI])
    raw = tifffile.imread(instruments / FEI)
    assert raw.shape == (471, 512)
    assert (raw.min(), raw.max(), round(float(raw.mean()), 3)) == (0, 65280, 785.085)
    assert intensity.shape == (1, 442, 512) and intensity.dtype == np.uint16
    np.testing.assert_array_equal(intensity.values[0], raw[:442])
    assert intensity.attrs["cropped_databar_rows"] == [442, 470]


def test_fei_pixel_size_and_2d_layout(trees):
    group = trees[FEI]["image"].to_dataset()
    z, y, x = group.fusion.voxel_size_um
    assert z is None and group.sizes["z"] == 1
    assert y == pytest.approx(3.3724) and x == pytest.approx(3.3724)  # um
    assert list(trees[FEI].children) == ["image"]


def test_fei_settings_in_one_unit_system(trees):
    attrs = _channel(trees[FEI]).attrs
    assert attrs["modality"] == "SEM" and attrs["units"] == "1" and attrs["origin"] == "measured"
    assert attrs["accelerating_voltage_kV"] == pytest.approx(5.0)
    assert attrs["working_distance_um"] == pytest.approx(4034.66)
    assert attrs["beam_current_nA"] == pytest.approx(6.25e-3)
    assert attrs["dwell_time_ns"] == pytest.approx(1e4)
    assert (attrs["detector"], attrs["signal"]) == ("ETD", "SE")
    assert attrs["instrument"] == 'Helios NanoLab" 660'
    assert attrs["instrument_software"] == "5.5.1.3318"
    assert attrs["operator"] == "supervisor"
    assert attrs["acquired"] == "2016-06-13T17:06:40"
    # FEI stores m and rad: converted to um and degrees
    assert attrs["stage_x_um"] == pytest.approx(25.76)
    assert attrs["stage_y_um"] == pytest.approx(-194.177)
    assert attrs["stage_z_um"] == pytest.approx(7965.0)
    assert attrs["stage_rotation_degree"] == pytest.approx(math.degrees(-2.3611))
    assert attrs["stage_tilt_degree"] == pytest.approx(math.degrees(6.54498e-06))


def test_fei_original_metadata_is_the_ini_sections(trees):
    original = json.loads(_channel(trees[FEI]).attrs["original_metadata"])
    assert original["PrivateFei"]["DatabarHeight"] == 29
    assert original["Scan"]["PixelWidth"] == pytest.approx(3.3724e-06)
    assert original["Image"]["ResolutionY"] == 442


# -- Zeiss Merlin, 1024 wide ----------------------------------------------------------------------


def test_zeiss_1k_data_zone_found_from_the_image_and_cropped(trees, instruments):
    intensity = _channel(trees[ZEISS_1K])
    raw = tifffile.imread(instruments / ZEISS_1K)
    assert raw.shape == (768, 1024) and raw.dtype == np.uint8
    assert (raw.min(), raw.max(), round(float(raw.mean()), 3)) == (0, 255, 163.427)
    assert intensity.attrs["cropped_databar_rows"] == [691, 767]  # 77 rows
    assert intensity.shape == (1, 691, 1024) and intensity.dtype == np.uint8
    np.testing.assert_array_equal(intensity.values[0], raw[:691])


def test_zeiss_1k_pixel_size(trees):
    _, y, x = trees[ZEISS_1K]["image"].to_dataset().fusion.voxel_size_um
    assert y == pytest.approx(2.614514, rel=1e-6) and x == pytest.approx(2.614514, rel=1e-6)


def test_zeiss_1k_settings_in_one_unit_system(trees):
    attrs = _channel(trees[ZEISS_1K]).attrs
    assert attrs["modality"] == "SEM"
    assert attrs["accelerating_voltage_kV"] == pytest.approx(25.0)
    assert attrs["working_distance_um"] == pytest.approx(14808.0)
    assert attrs["beam_current_nA"] == pytest.approx(1.0)
    assert attrs["dwell_time_ns"] == pytest.approx(50.0)
    assert attrs["magnification"] == pytest.approx(105.0)
    assert attrs["detector"] == "HE-SE2"
    assert attrs["stage_x_um"] == pytest.approx(75644.2)  # Zeiss stores mm
    assert attrs["stage_y_um"] == pytest.approx(60490.1)
    assert attrs["stage_z_um"] == pytest.approx(25193.0)
    assert attrs["stage_rotation_degree"] == pytest.approx(10.2)
    assert attrs["stage_tilt_degree"] == pytest.approx(0.0)
    assert attrs["operator"] == "LIM"
    assert attrs["instrument"] == "Merlin-61-08"
    assert attrs["acquired"] == "2015-12-23T09:40:32"
    assert "fib_slice_index" not in attrs  # no FIB on this Merlin


# -- Zeiss Auriga FIB-SEM, two pages, 2048 wide ---------------------------------------------------


def test_fib_sem_pages_are_separate_groups_with_their_own_metadata(trees):
    tree = trees[ZEISS_FIB]
    assert list(tree.children) == ["page0", "page1"]
    expected = [(2, "2016-04-18T22:42:02", 2.138), (5, "2016-04-18T22:45:19", 2.048)]
    for name, (index, acquired, slice_y) in zip(["page0", "page1"], expected, strict=True):
        attrs = _channel(tree, name).attrs
        assert attrs["modality"] == "FIB-SEM"
        assert attrs["fib_slice_index"] == index
        assert attrs["acquired"] == acquired
        assert attrs["fib_slice_y_um"] == pytest.approx(slice_y)
        assert attrs["fib_slice_thickness_um"] == pytest.approx(0.06)
        assert attrs["working_distance_um"] == pytest.approx(4500.0)
        assert attrs["beam_current_nA"] == pytest.approx(4.7)
        assert attrs["magnification"] == pytest.approx(4530.0)
        assert attrs["dwell_time_ns"] == pytest.approx(100.0)
        assert attrs["accelerating_voltage_kV"] == pytest.approx(1.8)
        assert json.loads(attrs["original_metadata"])["ap_fib_slice_index"][1] == index


def test_fib_sem_pixel_size_is_scaled_to_the_width_not_ap_pixel_size(trees):
    for name in ("page0", "page1"):
        group = trees[ZEISS_FIB][name].to_dataset()
        z, y, x = group.fusion.voxel_size_um
        assert z is None
        assert y == pytest.approx(0.012326225, rel=1e-6)  # 12.326225 nm
        assert x == pytest.approx(0.012326225, rel=1e-6)
        ap_pixel = json.loads(group["intensity"].attrs["original_metadata"])["ap_pixel_size"]
        assert ap_pixel[1:] == [24.65, "nm"]  # the 1k reference value, wrong here


def test_fib_sem_pages_are_not_given_a_uniform_z(trees):
    z = [float(trees[ZEISS_FIB][name].to_dataset().z[0]) for name in ("page0", "page1")]
    assert z == pytest.approx([2 * 0.06, 5 * 0.06])  # nominal: slice index x thickness, um


def test_fib_sem_data_are_whole_pages(trees, instruments):
    pages = [_channel(trees[ZEISS_FIB], name).values[0] for name in ("page0", "page1")]
    both = np.stack(pages)
    assert both.shape == (2, 1536, 2048) and both.dtype == np.uint8
    assert (both.min(), both.max(), round(float(both.mean()), 4)) == (0, 254, 64.1349)
    for name in ("page0", "page1"):
        assert _channel(trees[ZEISS_FIB], name).attrs["cropped_databar_rows"] == []


def test_fib_sem_written_and_read_back_keeps_pages_and_attributes(instruments, tmp_path, capsys):
    out = tmp_path / "fib.zarr"
    assert fusion_main(["load", "sem", str(instruments / ZEISS_FIB), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["groups"]["page1"]["dims"] == {"z": 1, "y": 1536, "x": 2048}
    back = xr.open_datatree(out, engine="zarr")
    assert back["page1"]["intensity"].attrs["fib_slice_index"] == 5
    assert float(back["page1"].z[0]) == pytest.approx(0.3)


# -- refusals and the data-zone detector ----------------------------------------------------------


def test_a_plain_tiff_is_refused_naming_the_file(tmp_path):
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((8, 8), np.uint8))
    with pytest.raises(LoaderError, match=r"plain\.tif.*without FEI"):
        load("sem", plain)


def test_a_caller_voxel_size_is_refused(instruments):
    with pytest.raises(LoaderError, match="pixel size"):
        load("sem", instruments / FEI, voxel_size_um=(1.0,))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ({}, None),  # specimen only
        ({30: 0, 31: 255, 32: 255}, 30),  # black line over a light panel
        ({30: 0, 31: 100}, None),  # a dark specimen row is not a data zone
        ({5: 0, 6: 255}, None),  # too high up to be a data zone
    ],
)
def test_find_data_zone(rows, expected):
    image = np.full((40, 16), 120, np.uint8)
    for row, value in rows.items():
        image[row] = value
    assert find_data_zone(image) == expected
