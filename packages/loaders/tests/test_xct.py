"""XCT loader: every real XCT file in ../shared/data/instruments/xct, checked against its README,
plus small stacks and Data Exchange files the tests write themselves."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import dask.array as da
import h5py
import numpy as np
import pytest
import tifffile
import xarray as xr

import fusion.loaders._provenance as provenance
from fusion.base import hash_file
from fusion.cli import main as fusion_main
from fusion.loaders import LoaderError, LoaderWarning, load
from fusion.loaders.testing import LoaderConformance
from fusion.schema import validate, write

SLICES = "xct/cylindrical_cell_slices"
TOOTH = "xct/tooth.h5"
CHIP = "xct/test_chip00.xrm"
CELL_PIXEL_UM = 33.97  # the authors' notebook: px = 0.03397 mm
TOOTH_PIXEL_UM = 2.0  # not stored in tooth.h5; any caller value will do for the tests


class TestXctSlicesConformance(LoaderConformance):
    kind = "xct"
    suffix = ".tif"
    load_options = {"voxel_size_um": (CELL_PIXEL_UM,)}  # noqa: RUF012

    @pytest.fixture
    def path(self, instruments):
        return instruments / SLICES


class TestXctDataExchangeConformance(LoaderConformance):
    kind = "xct"
    suffix = ".h5"
    load_options = {"voxel_size_um": (TOOTH_PIXEL_UM,)}  # noqa: RUF012

    @pytest.fixture
    def path(self, instruments):
        return instruments / TOOTH


class TestXctXradiaConformance(LoaderConformance):
    kind = "xct"
    suffix = ".xrm"

    @pytest.fixture
    def path(self, instruments):
        return instruments / CHIP


# -- cylindrical cell: a folder of 8-bit TIFF slices without calibration --------------------------


@pytest.fixture(scope="module")
def cell(instruments):
    return load("xct", instruments / SLICES, voxel_size_um=(CELL_PIXEL_UM,))


def test_slices_stack_in_file_name_order_lazily(cell):
    grey = cell["volume"].to_dataset()["grayscale"]
    assert grey.shape == (10, 728, 728) and grey.dtype == np.uint8
    assert isinstance(grey.data, da.Array)
    assert grey.data.chunks == ((7, 3), (728,), (728,))  # blocks of whole slices, <= 4 MiB
    values = grey.values
    means = [22.731, 24.585, 27.415, 30.569, 33.455, 35.416, 36.202, 36.184, 35.855, 35.540]
    np.testing.assert_allclose(values.mean(axis=(1, 2)), means, atol=5e-4)  # im071 first
    assert values.min() == 0
    # README: per-slice max 204-210; im073.tif in fact peaks at 203
    assert values.max(axis=(1, 2)).tolist() == [204, 204, 203, 206, 206, 209, 210, 210, 209, 209]


def test_slices_take_the_callers_voxel_size(cell):
    group = cell["volume"].to_dataset()
    assert group.fusion.voxel_size_um == pytest.approx((CELL_PIXEL_UM,) * 3)
    assert group.grayscale.attrs["modality"] == "XCT"
    load_activity = cell.attrs["fusion"]["provenance"]["activities"]["load"]
    assert load_activity["parameters"]["voxel_size_um"] == [CELL_PIXEL_UM] * 3


def test_slices_anisotropic_voxel_size(instruments):
    tree = load("xct", instruments / SLICES, voxel_size_um=(50.0, CELL_PIXEL_UM, CELL_PIXEL_UM))
    assert tree["volume"].to_dataset().fusion.voxel_size_um == pytest.approx((50.0, 33.97, 33.97))


def test_slices_without_a_voxel_size_are_refused(instruments, tmp_path, capsys):
    with pytest.raises(
        LoaderError, match=r"cylindrical_cell_slices.*no voxel size.*voxel_size_um="
    ) as caught:
        load("xct", instruments / SLICES)
    assert "--voxel-size" not in str(caught.value) and "command line" not in str(caught.value)
    out = tmp_path / "never.zarr"
    assert fusion_main(["load", "xct", str(instruments / SLICES), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "voxel size" in err[0] and not out.exists()
    assert "--voxel-size UM" in err[0] and "voxel_size_um" not in err[0]


def test_slice_folder_entity_hashes_a_sha256sum_manifest(cell, instruments):
    folder = instruments / SLICES
    files = sorted(folder.glob("*.tif"))
    manifest = "".join(f"{hash_file(f)}  {f.name}\n" for f in files).encode()
    entity = cell.attrs["fusion"]["provenance"]["entities"]["raw"]
    assert entity["sha256"] == hashlib.sha256(manifest).hexdigest()
    assert entity["size"] == 10 * 530_240
    assert (
        json.loads(cell["volume"].grayscale.attrs["original_metadata"])["files"][0] == "im071.tif"
    )


# -- generated TIFF stacks ------------------------------------------------------------------------


def test_slices_are_in_natural_order(tmp_path):
    for index in (10, 1, 2):
        tifffile.imwrite(tmp_path / f"s{index}.tif", np.full((4, 5), index, np.uint16))
    grey = load("xct", tmp_path, voxel_size_um=1.5)["volume"].to_dataset().grayscale
    assert grey.dtype == np.uint16
    assert grey.values[:, 0, 0].tolist() == [1, 2, 10]


def test_a_slice_of_another_shape_is_refused_naming_it(tmp_path):
    tifffile.imwrite(tmp_path / "a1.tif", np.zeros((4, 5), np.uint8))
    tifffile.imwrite(tmp_path / "a2.tif", np.zeros((4, 6), np.uint8))
    with pytest.raises(LoaderError, match=r"a2\.tif.*expected \(4, 5\)"):
        load("xct", tmp_path, voxel_size_um=1.0)


def test_multipage_tiff_is_a_lazy_volume(tmp_path):
    stack = np.arange(3 * 6 * 7, dtype=np.uint16).reshape(3, 6, 7)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    grey = load("xct", tmp_path / "stack.tif", voxel_size_um=2.0)["volume"].to_dataset().grayscale
    assert isinstance(grey.data, da.Array) and grey.data.chunksize == (3, 6, 7)
    np.testing.assert_array_equal(grey.values, stack)


def test_a_volume_read_when_written_has_its_load_end_then(tmp_path, monkeypatch):
    """The frames of a large input are read inside ``write``: the load activity ends then. A
    small input, read at once (and served from memory in dask blocks), keeps its times."""
    monkeypatch.setattr(provenance, "BACKGROUND_BYTES", 1000)  # 2.4 kB counts as large
    stack = np.arange(3 * 20 * 20, dtype=np.uint16).reshape(3, 20, 20)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    lazy = load("xct", tmp_path / "stack.tif", voxel_size_um=2.0)
    assert lazy.attrs["fusion_ends_when_written"] == ["load"]
    loaded = lazy.attrs["fusion"]["provenance"]["activities"]["load"]
    time.sleep(0.2)  # between building the tree and reading the frames
    write(lazy, tmp_path / "lazy.zarr")
    stored = xr.open_datatree(tmp_path / "lazy.zarr", engine="zarr").attrs
    assert list(stored) == ["fusion"]
    load_ = stored["fusion"]["provenance"]["activities"]["load"]
    assert load_["started"] == loaded["started"]
    late = dt.datetime.fromisoformat(load_["ended"]) - dt.datetime.fromisoformat(loaded["ended"])
    assert late >= dt.timedelta(seconds=0.2)
    assert stored["fusion"]["created"] == stored["fusion"]["modified"] == load_["ended"]

    monkeypatch.undo()
    small = load("xct", tmp_path / "stack.tif", voxel_size_um=2.0)
    assert small["volume"].grayscale.chunks is not None  # dask blocks over the frames read
    assert "fusion_ends_when_written" not in small.attrs
    write(small, tmp_path / "small.zarr")
    stored = xr.open_datatree(tmp_path / "small.zarr", engine="zarr").attrs
    assert stored == {"fusion": small.attrs["fusion"]}


def test_a_truncated_multipage_tiff_is_refused_at_load_time(tmp_path):
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, np.ones((4, 64, 64), np.uint16), photometric="minisblack")
    cut = tmp_path / "cut.tif"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 4])
    with pytest.raises(LoaderError, match=r"cut\.tif"):
        load("xct", cut, voxel_size_um=1.0)


def test_imagej_calibration_is_read_and_a_different_caller_value_warns(tmp_path):
    path = tmp_path / "calibrated.tif"
    data = np.zeros((3, 4, 5), np.uint8)
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"spacing": 2.0, "unit": "um"},
    )
    volume = load("xct", path)["volume"].to_dataset()
    assert volume.fusion.voxel_size_um == pytest.approx((2.0, 0.5, 0.5))
    with pytest.warns(LoaderWarning, match="used the caller's"):
        volume = load("xct", path, voxel_size_um=0.7)["volume"].to_dataset()
    assert volume.fusion.voxel_size_um == pytest.approx((0.7, 0.7, 0.7))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), (1.0, 2.0), "1"])
def test_a_bad_voxel_size_is_refused(instruments, bad):
    with pytest.raises(LoaderError, match="voxel_size_um"):
        load("xct", instruments / SLICES, voxel_size_um=bad)


# -- tooth.h5: Data Exchange projections ----------------------------------------------------------


@pytest.fixture(scope="module")
def tooth(instruments):
    return load("xct", instruments / TOOTH, voxel_size_um=TOOTH_PIXEL_UM)


def test_tooth_is_a_projection_group_not_a_volume(tooth):
    assert list(tooth.children) == ["projections"]
    group = tooth["projections"].to_dataset()
    assert dict(group.sizes) == {"angle": 181, "y": 2, "x": 640, "flat": 10, "dark": 10}
    assert "z" not in group.dims
    assert validate(tooth, level="data").ok


def test_tooth_angles_stay_in_degrees(tooth):
    angle = tooth["projections"].angle
    assert angle.dtype == np.float64 and angle.attrs["units"] == "degree"
    np.testing.assert_allclose(angle.values, np.arange(181) * 180 / 181)
    assert float(angle[-1]) == pytest.approx(179.0055, abs=1e-4)


def test_tooth_data_flats_and_darks(tooth):
    group = tooth["projections"].to_dataset()
    projections = group.projections.values
    assert projections.dtype == np.float32 and group.projections.dims == ("angle", "y", "x")
    assert projections.min() == pytest.approx(3921.25)
    assert projections.max() == pytest.approx(33891.5)
    assert projections.mean(dtype=np.float64) == pytest.approx(20499.108, abs=1e-3)
    assert group.flats.dims == ("flat", "y", "x")
    assert group.flats.values.mean(dtype=np.float64) == pytest.approx(27941.957, abs=1e-3)
    assert group.darks.dims == ("dark", "y", "x")
    assert group.darks.values.mean(dtype=np.float64) == pytest.approx(105.185, abs=1e-3)
    assert {group[v].attrs["units"] for v in group.data_vars} == {"counts"}
    original = json.loads(group.projections.attrs["original_metadata"])
    assert original["exchange/data"]["attrs"]["axes"] == "theta:y:x"


def test_tooth_without_a_voxel_size_is_refused(instruments):
    with pytest.raises(LoaderError, match=r"tooth\.h5.*no voxel size"):
        load("xct", instruments / TOOTH)


def _write_dxchange(path, theta_units="rad", pixel=None):
    with h5py.File(path, "w") as h5:
        h5["exchange/data"] = np.ones((4, 3, 5), np.uint16)
        h5["exchange/data_white"] = np.full((2, 3, 5), 9, np.uint16)
        h5["exchange/theta"] = np.linspace(0, np.pi, 4)
        h5["exchange/theta"].attrs["units"] = theta_units
        if pixel is not None:
            h5["measurement/instrument/detection_system/objective/resolution"] = pixel
            h5["measurement/instrument/detection_system/objective/resolution"].attrs["units"] = (
                "microns"
            )


def test_dxchange_radians_become_degrees_and_pixel_size_is_read(tmp_path):
    _write_dxchange(tmp_path / "scan.h5", pixel=0.65)
    group = load("xct", tmp_path / "scan.h5")["projections"].to_dataset()
    np.testing.assert_allclose(group.angle.values, [0, 60, 120, 180])
    assert float(group.x[1] - group.x[0]) == pytest.approx(0.65)
    assert "darks" not in group and group.flats.shape == (2, 3, 5)


def test_dxchange_with_unknown_angle_units_is_refused(tmp_path):
    _write_dxchange(tmp_path / "scan.h5", theta_units="gradians")
    with pytest.raises(LoaderError, match="gradians"):
        load("xct", tmp_path / "scan.h5", voxel_size_um=1.0)


def test_hdf5_without_exchange_data_is_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["something"] = np.zeros(3)
    with pytest.raises(LoaderError, match=r"other\.h5: exchange/data"):
        load("xct", tmp_path / "other.h5", voxel_size_um=1.0)


# -- test_chip00.xrm: one Xradia projection with its reference -------------------------------------


@pytest.fixture(scope="module")
def chip(instruments):
    return load("xct", instruments / CHIP)


def test_xrm_single_projection_and_reference(chip):
    group = chip["projections"].to_dataset()
    assert dict(group.sizes) == {"angle": 1, "y": 512, "x": 512, "flat": 1}
    projection = group.projections.values
    assert projection.dtype == np.uint16
    assert (projection.min(), projection.max()) == (1, 1117)
    assert projection.mean() == pytest.approx(42.696, abs=1e-3)
    assert group.flats.dtype == np.uint16 and group.flats.shape == (1, 512, 512)
    assert float(group.angle[0]) == pytest.approx(-0.06)  # degrees, as stored


def test_xrm_pixel_size_from_the_file(chip):
    group = chip["projections"].to_dataset()
    assert float(group.x[1] - group.x[0]) == pytest.approx(0.0778947, rel=1e-6)  # um
    assert float(group.y[1] - group.y[0]) == pytest.approx(0.0778947, rel=1e-6)
    assert (
        chip.attrs["fusion"]["provenance"]["activities"]["load"]["parameters"]["voxel_size_um"]
        is None
    )


def test_xrm_settings(chip):
    attrs = chip["projections"].projections.attrs
    assert (attrs["horizontal_binning"], attrs["vertical_binning"]) == (4, 4)
    assert attrs["energy_eV"] == pytest.approx([7191.05], abs=0.01)
    assert attrs["exposure_time_s"] == pytest.approx([39.885], abs=1e-3)
    assert attrs["stage_x_um"] == pytest.approx([715.36])
    assert attrs["stage_y_um"] == pytest.approx([-3761.99])
    assert attrs["stage_z_um"] == pytest.approx([340.98])
    assert attrs["xray_magnification"] == pytest.approx(38.0)
    assert attrs["acquired"] == "2015-11-08T11:58:08"
    original = json.loads(attrs["original_metadata"])
    assert original["ImageInfo/DataType"] == 5 and original["ReferenceData/DataType"] == 5


def test_projections_written_and_read_back_with_plain_xarray(instruments, tmp_path):
    out = tmp_path / "tooth.zarr"
    argv = ["load", "xct", str(instruments / TOOTH), "-o", str(out), "--voxel-size", "2"]
    assert fusion_main(argv) == 0
    back = xr.open_datatree(out, engine="zarr")["projections"]
    assert back.angle.attrs["units"] == "degree" and back.sizes["angle"] == 181
    assert float(back.darks.mean()) == pytest.approx(105.185, abs=1e-3)
