"""add_chemistry: per-phase mean spectra of a real EELS file, traced to the file's numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import xarray as xr
from rsciio import digitalmicrograph, msa
from transfer_volumes import PHASES, ball_phases, phase_tree

from fusion.schema import validate, write
from fusion.transfer import TransferError, add_chemistry, phase_spectra, voxel_spectra


@pytest.fixture(scope="module")
def volume() -> xr.DataTree:
    return phase_tree(ball_phases(n=12, radius=4))


def direct_energy(axis: dict) -> np.ndarray:
    return axis["offset"] + axis["scale"] * np.arange(axis["size"])


def test_nmc_voxels_carry_the_files_spectrum(volume, coreloss, instruments):
    before = copy.deepcopy(volume.attrs)
    out = add_chemistry(volume, "particle", coreloss)
    assert volume.attrs == before and "spectrum_id" not in volume["particle"].data_vars
    ds = out["particle"].to_dataset()
    (signal,) = msa.file_reader(str(instruments / "eels" / "coreloss_spectrum.msa"))
    np.testing.assert_array_equal(ds.phase_spectrum.sel(spectrum="NMC").values, signal["data"])
    np.testing.assert_allclose(ds.energy_loss.values, direct_energy(signal["axes"][0]))
    ids, phase = ds.spectrum_id.values, ds.phase.values
    assert (ids[phase == PHASES["NMC"]] == 1).all() and (ids[phase != PHASES["NMC"]] == 0).all()
    spectra = voxel_spectra(ds)
    assert spectra.dims == ("z", "y", "x", "energy_loss")
    np.testing.assert_array_equal(spectra.values[phase == PHASES["NMC"]][0], signal["data"])
    assert (spectra.values[phase == PHASES["pore"]] == 0).all()


def test_attributes_and_provenance_name_the_file(volume, coreloss):
    out = add_chemistry(volume, "particle", coreloss)
    ds = out["particle"].to_dataset()
    attrs = ds.spectrum_id.attrs
    assert attrs["origin"] == "generated" and attrs["modality"] == "EELS"
    assert attrs["flag_values"] == [0, 1] and attrs["flag_meanings"] == "none NMC"
    assert ds.phase_spectrum.attrs["source"] == "coreloss_spectrum.msa"
    assert ds.phase_spectrum.attrs["units"] == "counts" and ds.phase_spectrum.attrs["pixels"] == {
        "NMC": 1
    }
    provenance = out.attrs["fusion"]["provenance"]
    activity = provenance["activities"][attrs["provenance"]]
    assert activity["type"] == "transfer" and activity["generated"] == ["/particle/spectrum_id"]
    entity = provenance["entities"][activity["used"][0]]
    assert entity == coreloss.attrs["fusion"]["provenance"]["entities"]["raw"]
    assert activity["used"][1] == "/particle/phase"
    assert activity["parameters"]["eels_file"] == "coreloss_spectrum.msa"


def test_written_dataset_validates(volume, coreloss, tmp_path):
    out = add_chemistry(volume, "particle", coreloss)
    assert validate(out, level="data").ok
    where = write(out, tmp_path / "chem.zarr")
    assert validate(where, level="data").ok
    back = xr.open_datatree(where, engine="zarr")["particle"]
    assert back.phase_spectrum.dims == ("spectrum", "energy_loss")  # a coordinate, kept


def test_spectrum_image_means_and_masks(volume, spectrum_image, instruments):
    (signal,) = digitalmicrograph.file_reader(str(instruments / "eels" / "EELS_SI.dm4"))
    data = np.asarray(signal["data"], dtype=np.float64)  # stored (energy, y, x)
    left = np.array([[True, False], [True, False]])
    table = phase_spectra(spectrum_image, {"NMC": None, "CBD": left})
    np.testing.assert_allclose(table.sel(spectrum="NMC"), data.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(table.sel(spectrum="CBD"), data[:, :, 0].mean(axis=1), rtol=1e-12)
    assert table.attrs["pixels"] == {"NMC": 4, "CBD": 2}
    out = add_chemistry(volume, "particle", spectrum_image, phases={"NMC": None, "CBD": left})
    ds = out["particle"].to_dataset()
    assert ds.spectrum_id.attrs["flag_meanings"] == "none NMC CBD"
    for row, name in enumerate(["NMC", "CBD"], start=1):
        np.testing.assert_array_equal(ds.spectrum_id.values == row, ds.phase.values == PHASES[name])
    assert validate(out, level="data").ok


def test_bad_inputs_are_one_line_errors(volume, coreloss, spectrum_image):
    no_axis = coreloss.copy()
    no_axis["eels"] = xr.DataTree(coreloss["eels"].to_dataset().rename({"energy_loss": "channel"}))
    with pytest.raises(
        TransferError, match=r"coreloss_spectrum\.msa: expected a spectrum on .*energy_loss"
    ):
        add_chemistry(volume, "particle", no_axis)
    with pytest.raises(TransferError, match=r"/particle/phase: no phase 'LMO'"):
        add_chemistry(volume, "particle", coreloss, phases=["LMO"])
    with pytest.raises(
        TransferError, match=r"EELS_SI\.dm4: the mask of 'NMC' must be boolean of shape \(2, 2\)"
    ):
        add_chemistry(volume, "particle", spectrum_image, phases={"NMC": np.ones((3, 3), bool)})
    with pytest.raises(TransferError, match=r"EELS_SI\.dm4: the mask of 'NMC' selects no pixel"):
        add_chemistry(volume, "particle", spectrum_image, phases={"NMC": np.zeros((2, 2), bool)})
    with pytest.raises(TransferError, match=r"coreloss_spectrum\.msa: no group 'eels_2'"):
        add_chemistry(volume, "particle", coreloss, eels_group="eels_2")
    twice = add_chemistry(volume, "particle", coreloss)
    with pytest.raises(TransferError, match=r"/particle already holds \['spectrum_id'"):
        add_chemistry(twice, "particle", coreloss)
