"""`fusion load ome-zarr`: stores written by ome-zarr-py's own writer (OME-Zarr 0.4 on Zarr v2,
0.5 on Zarr v3) and our own views read into the format, units converted to µm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from ome_zarr.format import FormatV04, FormatV05
from ome_zarr.io import parse_url
from ome_zarr.writer import write_image, write_labels

from fusion.loaders import LoaderError, load
from fusion.schema import make_example, validate, write
from fusion.schema.ome import export_ome_zarr

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 4000, size=(2, 12, 20, 24)).astype(np.uint16)  # c, z, y, x
PHASE = RNG.integers(0, 3, size=(12, 20, 24)).astype(np.uint8)
NM = {"z": 500.0, "y": 250.0, "x": 250.0}
LABELS = {
    "colors": [{"label-value": 0, "rgba": [0, 0, 0, 255]},
               {"label-value": 1, "rgba": [255, 0, 0, 255]},
               {"label-value": 2, "rgba": [0, 0, 255, 128]}],
    "properties": [{"label-value": 0, "name": "pore"}, {"label-value": 1, "name": "NMC"},
                   {"label-value": 2, "name": "carbon binder"}],
}  # fmt: skip


def ome_zarr_py_store(path: Path, fmt, *, units: bool = True) -> Path:
    """An image (two channels) with a phase label, written by ome-zarr-py."""
    root = zarr.open_group(parse_url(path, mode="w", fmt=fmt).store, mode="w",
                           zarr_format=fmt.zarr_format)  # fmt: skip
    unit = {"axes_units": {a: "nanometer" for a in "zyx"}} if units else {}
    write_image(GREY, root, axes="czyx", fmt=fmt, scale_factors=[2], scale=NM, **unit)
    write_labels(PHASE, root, name="phase", axes="zyx", fmt=fmt, scale_factors=[2], scale=NM,
                 label_metadata=LABELS, **unit)  # fmt: skip
    return path


@pytest.mark.parametrize("fmt", [FormatV04(), FormatV05()], ids=["0.4", "0.5"])
def test_a_store_written_by_ome_zarr_py_loads_in_micrometres(tmp_path, fmt):
    store = ome_zarr_py_store(tmp_path / "scan.ome.zarr", fmt)
    tree = load("ome-zarr", store, modality="XCT")
    group = tree["image"]
    assert sorted(group.data_vars) == ["image_0", "image_1", "phase"]
    assert group.to_dataset().fusion.voxel_size_um == pytest.approx((0.5, 0.25, 0.25))
    np.testing.assert_array_equal(group["image_1"].values, GREY[1])
    np.testing.assert_array_equal(group["phase"].values, PHASE)
    phase = group["phase"].attrs
    assert phase["flag_values"] == [0, 1, 2]
    assert phase["flag_meanings"] == "pore NMC carbon_binder"
    assert phase["flag_colors"] == ["#000000", "#ff0000", "#0000ff80"]
    assert phase["origin"] == "inferred" and group["image_0"].attrs["origin"] == "measured"
    assert {group[v].attrs["modality"] for v in group.data_vars} == {"XCT"}
    write(tree, tmp_path / "scan.zarr")
    assert validate(tmp_path / "scan.zarr", level="data").ok


def test_axes_without_a_unit_need_the_voxel_size(tmp_path):
    store = ome_zarr_py_store(tmp_path / "bare.ome.zarr", FormatV05(), units=False)
    with pytest.raises(LoaderError, match=r"no physical unit; .*voxel_size_um=\.\.\."):
        load("ome-zarr", store, modality="XCT")
    tree = load("ome-zarr", store, modality="XCT", voxel_size_um=(2.0, 1.0, 1.0))
    assert tree["image"].to_dataset().fusion.voxel_size_um == pytest.approx((2.0, 1.0, 1.0))


def test_the_technique_must_be_named_where_the_store_does_not(tmp_path):
    store = ome_zarr_py_store(tmp_path / "scan.ome.zarr", FormatV05())
    with pytest.raises(LoaderError, match=r"which technique.*modality=XCT"):
        load("ome-zarr", store)


def _set_multiscale(path: Path, edit) -> None:
    document = json.loads((path / "zarr.json").read_text())
    edit(document["attributes"]["ome"])
    (path / "zarr.json").write_text(json.dumps(document))


def test_what_it_cannot_read_is_named(tmp_path):
    store = ome_zarr_py_store(tmp_path / "scan.ome.zarr", FormatV05())
    _set_multiscale(store, lambda ome: ome["multiscales"][0]["axes"][1].update(unit="parsec"))
    with pytest.raises(LoaderError, match=r"scan\.ome\.zarr: /: space unit 'parsec'"):
        load("ome-zarr", store, modality="XCT")
    _set_multiscale(store, lambda ome: ome.update(version="0.3"))
    with pytest.raises(LoaderError, match=r"version 0\.3; this reader reads 0\.4 and 0\.5"):
        load("ome-zarr", store, modality="XCT")
    plain = zarr.open_group(tmp_path / "plain.zarr", mode="w")
    plain.create_array("a", shape=(2,), dtype="u1")
    with pytest.raises(LoaderError, match="no OME-Zarr image"):
        load("ome-zarr", tmp_path / "plain.zarr", modality="XCT")
    with pytest.raises(LoaderError, match="takes no option modality"):
        load("xct", tmp_path / "plain.zarr", modality="XCT")


def test_our_own_view_round_trips(tmp_path):
    example = make_example(size="small")
    write(example, tmp_path / "ex.zarr")
    export_ome_zarr(tmp_path / "ex.zarr", "memory://loads/ex.ome.zarr")
    tree = load("ome-zarr", "memory://loads/ex.ome.zarr")  # a URL; attributes say modality
    for name, group in example.children.items():
        assert sorted(tree[name].data_vars) == sorted(group.data_vars)
        for key, variable in group.data_vars.items():
            back = tree[name][key]
            assert back.dims == variable.dims
            np.testing.assert_array_equal(back.values, variable.values)
            assert {
                k: v for k, v in back.attrs.items() if k in variable.attrs and k != "provenance"
            } == {k: v for k, v in variable.attrs.items() if k in back.attrs and k != "provenance"}
        xr.testing.assert_equal(tree[name].coords.to_dataset(), group.coords.to_dataset())


def test_the_command(tmp_path):
    store = ome_zarr_py_store(tmp_path / "scan.ome.zarr", FormatV04())
    command = [sys.executable, "-m", "fusion.cli", "load", "ome-zarr", str(store),
               "-o", str(tmp_path / "scan.zarr")]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode != 0 and "--modality" in refused.stderr
    done = subprocess.run([*command, "--modality", "XCT"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "image 12x20x24 voxel (z, y, x) 0.5 x 0.25 x 0.25 um" in done.stdout


def test_a_view_with_a_numeric_channel_dimension_round_trips(instruments, tmp_path):
    """An EDS spectrum image (format 0.3, ``xray_energy`` in eV) through its OME view and back:
    the energies come back as numbers with their units, the dataset declares 0.3 again."""
    import warnings

    from fusion.loaders import LoaderWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        eds = load("eds", instruments / "eds" / "velox_SI_16x16_215kx.emd")
    write(eds, tmp_path / "eds.zarr")
    export_ome_zarr(tmp_path / "eds.zarr", tmp_path / "eds.ome.zarr")
    back = load("ome-zarr", tmp_path / "eds.ome.zarr")
    assert back.attrs["fusion"]["schema"] == "fusion/0.3"
    energy = back["eds"].xray_energy
    assert energy.attrs["units"] == "eV" and energy.dtype == np.float64
    np.testing.assert_array_equal(energy.values, eds["eds"].xray_energy.values)
    np.testing.assert_array_equal(back["eds"].spectrum.values, eds["eds"].spectrum.values)
    for dim in "yx":  # the view's transforms hold 12 significant digits
        np.testing.assert_allclose(back["eds"][dim].values, eds["eds"][dim].values, atol=1e-12)
    write(back, tmp_path / "back.zarr")
    assert validate(tmp_path / "back.zarr", level="data").ok
