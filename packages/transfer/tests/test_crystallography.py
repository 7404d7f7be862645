"""add_crystallography: channels that validate, provenance naming the EBSD file, input kept."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import xarray as xr
from transfer_volumes import ball_phases, phase_tree

from fusion.schema import validate, write
from fusion.transfer import TransferError, add_crystallography


@pytest.fixture(scope="module")
def result(twins):
    tree = phase_tree(ball_phases())
    before = copy.deepcopy(tree.attrs)
    out = add_crystallography(tree, "particle", twins, seed=2)
    assert tree.attrs == before and set(tree["particle"].data_vars) == {"phase"}  # untouched
    return out


def test_result_validates_in_memory_and_written(result, tmp_path):
    assert validate(result, level="data").ok, validate(result, level="data")
    assert validate(write(result, tmp_path / "a.zarr"), level="data").ok


def test_channels_and_their_attributes(result):
    ds = result["particle"].to_dataset()
    nmc = ds.phase.values == 1
    np.testing.assert_array_equal(ds.grain_id.values > 0, nmc)
    assert np.isfinite(ds.orientation.values[nmc]).all()
    assert np.isnan(ds.orientation.values[~nmc]).all()
    for name in ("grain_id", "orientation"):
        attrs = ds[name].attrs
        assert attrs["origin"] == "generated" and attrs["modality"] == "EBSD"
        assert attrs["provenance"] == "transfer-crystallography"
    attrs = ds.orientation.attrs
    assert attrs["crystal_symmetry"] == {"NMC": "-3m"} and attrs["phase_channel"] == "phase"
    assert attrs["rotation"] == "crystal_to_sample" and attrs["source_point_group"] == "6/mmm"
    assert "twins.ctf" in attrs["comment"] and "not of this phase" in attrs["comment"]


def test_provenance_names_the_ebsd_file_and_the_fit(result, twins):
    provenance = result.attrs["fusion"]["provenance"]
    activity = provenance["activities"]["transfer-crystallography"]
    assert activity["type"] == "transfer" and activity["software"]["name"] == "fusion-transfer"
    entity_id, channel = activity["used"]
    assert channel == "/particle/phase"
    assert (
        provenance["entities"][entity_id] == twins.attrs["fusion"]["provenance"]["entities"]["raw"]
    )
    assert provenance["entities"][entity_id]["name"] == "twins.ctf"
    assert activity["generated"] == ["/particle/grain_id", "/particle/orientation"]
    parameters = activity["parameters"]
    assert parameters["threshold_deg"] == 5.0 and parameters["seed"] == 2
    assert parameters["ebsd_file"] == "twins.ctf" and parameters["ebsd_point_group"] == "6/mmm"
    assert parameters["section_median_um"] == pytest.approx(parameters["target_median_um"], rel=0.1)
    assert 0 < parameters["ks_distance"] < 0.4 and parameters["converged"]
    assert result.attrs["fusion"]["modified"] >= activity["ended"]


def test_same_file_twice_is_one_entity(result, twins):
    ds = result["particle"].to_dataset(inherit=False).drop_vars(["grain_id", "orientation", "quat"])
    again = result.copy()
    again["particle"] = xr.DataTree(ds)
    twice = add_crystallography(again, "particle", twins, seed=2)
    provenance = twice.attrs["fusion"]["provenance"]
    assert len(provenance["entities"]) == 1
    assert "transfer-crystallography-2" in provenance["activities"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"crystal_phase": "LCO"},
            r"/particle/phase: no phase 'LCO'; phases: \['pore', 'NMC', 'CBD'\]",
        ),
        ({"ebsd_phase": "Zinc"}, r"twins\.ctf: no phase 'Zinc'; phases: \['Magnesium'\]"),
        ({"group": "electrode"}, r"no group 'electrode' in the dataset"),
    ],
)
def test_bad_names_are_one_line_errors(twins, change, message):
    options = {"group": "particle", **change}
    group = options.pop("group")
    with pytest.raises(TransferError, match=message):
        add_crystallography(phase_tree(ball_phases(n=8, radius=3)), group, twins, **options)


def test_empty_crystal_phase_and_existing_channels_are_errors(result, twins):
    empty = phase_tree(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(TransferError, match=r"/particle/phase: no voxel of phase 'NMC'"):
        add_crystallography(empty, "particle", twins)
    with pytest.raises(
        TransferError, match=r"/particle already holds \['grain_id', 'orientation'\]"
    ):
        add_crystallography(result, "particle", twins)
