"""The reference recipe docs/examples/nmc-fusion.yaml runs end to end with the registered models
on the real instrument files (particle volume shrunk to 64³), its output validates at level
`data`, opens in plain xarray with every channel traced to its files and models, and a second
run computes no step again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from fusion.fuse import fuse
from fusion.schema import validate


@pytest.fixture(scope="module")
def fused(tmp_path_factory, small_reference_recipe):
    tmp = tmp_path_factory.mktemp("reference")
    recipe = yaml.safe_load(small_reference_recipe.read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(tmp / "cache"))
        first = fuse(small_reference_recipe, tmp / "fused.zarr", work=tmp / "work", device="cpu")
        second = fuse(small_reference_recipe, tmp / "again.zarr", work=tmp / "work", device="cpu")
    return tmp, recipe, first, second


def test_the_reference_recipe_runs_every_step_once_and_validates(fused):
    tmp, recipe, first, second = fused
    assert first.ran == [s["id"] for s in recipe["steps"]]
    assert second.ran == []
    for name in ("fused.zarr", "again.zarr"):
        report = validate(tmp / name, level="data")
        assert report.ok, str(report)


def test_one_voxel_carries_phase_orientation_and_chemistry_at_two_scales(fused):
    tmp = fused[0]
    tree = xr.open_datatree(tmp / "fused.zarr", engine="zarr")  # plain xarray
    particle, electrode = tree["particle"], tree["electrode"]
    assert particle.phase.shape == (64, 64, 64)
    assert particle.phase.attrs["flag_meanings"] == "pore NMC CBD"
    nmc = particle.phase.values == 1
    grains = particle.grain_id.values
    assert np.all(grains[nmc] > 0) and np.all(grains[~nmc] == 0)
    quats = particle.orientation.values
    assert np.allclose(np.linalg.norm(quats[nmc], axis=-1), 1, atol=1e-5)
    assert np.all(np.isnan(quats[~nmc]))
    spectrum = particle.phase_spectrum.sel(spectrum="NMC")
    assert spectrum.sizes["energy_loss"] == 2048 and float(spectrum.energy_loss[0]) == 300.0
    assert np.all(particle.spectrum_id.values[nmc] == 1)  # the NMC spectrum, index 1
    # the particle group lies inside the electrode group, at the place the recipe names
    for dim in "zyx":
        e, p = electrode[dim].values, particle[dim].values
        assert e[0] - 33.97 / 2 <= p[0] and p[-1] <= e[-1] + 33.97 / 2
    assert float(particle.z[0]) == pytest.approx(140.0)
    centre = electrode.grayscale.sel(y=float(particle.y.mean()), x=float(particle.x.mean()),
                                     method="nearest")  # fmt: skip
    assert centre.shape == (10,)  # the XCT voxels the particle volume sits in, one per slice


def test_the_provenance_names_every_file_and_model_with_its_digest(fused, instruments):
    tmp, recipe, _, _ = fused
    tree = xr.open_datatree(tmp / "fused.zarr", engine="zarr")
    entities = tree.attrs["fusion"]["provenance"]["entities"].values()
    files = {e["name"]: e["sha256"] for e in entities if e["type"] == "file"}
    for spec in recipe["inputs"].values():
        path = Path(spec["url"])
        if path.is_file():
            assert files[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "cylindrical_cell_slices" in files
    models = {e["ref"].split("@")[0] for e in entities if e["type"] == "model"}
    assert models == {"model:unet-nmc", "model:slicegan-nmc", "model:superres-nmc"}
    made_by = {
        f"/{g}/{v}": tree[g][v].attrs["provenance"]
        for g in tree.children
        for v in tree[g].data_vars
    }
    activities = tree.attrs["fusion"]["provenance"]["activities"]
    assert activities[made_by["/particle/grain_id"]]["type"] == "transfer"
    assert activities[made_by["/particle/phase"]]["type"] == "generate"
    assert activities[made_by["/sem/phase"]]["type"] == "segment"
    assert activities[made_by["/electrode/grayscale"]]["type"] == "load"
    assert activities[made_by["/xct-nmc/phase"]]["type"] == "load"
    assert activities[made_by["/xct-nmc-fine/phase"]]["type"] == "super-resolve"


def test_the_xct_scale_gets_a_fine_child_over_the_region_it_super_resolved(fused):
    tmp, _, _, _ = fused
    tree = xr.open_datatree(tmp / "fused.zarr", engine="zarr")
    coarse, fine = tree["xct-nmc"], tree["xct-nmc-fine"]
    assert fine.phase.shape == (96, 96, 96)  # 12³ coarse cells × 8
    assert fine.phase.attrs["flag_meanings"] == "pore NMC CBD"
    for axis in "zyx":
        step = float(coarse[axis][1] - coarse[axis][0])
        assert float(fine[axis][1] - fine[axis][0]) == pytest.approx(step / 8)
        start = float(coarse[axis][0]) - step / 2
        assert float(fine[axis][0]) == pytest.approx(start + step / 16)
    particles = coarse.phase.values[:12, :12, :12] == 128
    blocks = (fine.phase.values == 1).reshape(12, 8, 12, 8, 12, 8).mean(axis=(1, 3, 5)) > 0.5
    assert (blocks == particles).mean() >= 0.95


def test_the_modelling_hand_off_from_plain_xarray(fused):
    """What a modelling code takes from the fused dataset, computed on what plain xarray opens
    and checked against independent counts (docs/analysis.md shows the same calls)."""
    from fusion.analysis import (
        grain_size_distribution,
        specific_surface_area,
        tortuosity_factor,
        volume_fractions,
    )

    tree = xr.open_datatree(fused[0] / "fused.zarr", engine="zarr")
    phase = tree["particle"].phase
    labels = phase.values
    voxel = float(phase.x[1] - phase.x[0])
    fractions = volume_fractions(phase)
    counts = np.bincount(labels.ravel(), minlength=3) / labels.size
    assert [fractions[k] for k in (0, 1, 2)] == pytest.approx(counts.tolist())
    faces = sum(np.count_nonzero(np.diff(labels == 1, axis=axis)) for axis in range(3))
    assert specific_surface_area(phase, 1, isotropic_correction=False) == pytest.approx(
        faces * voxel**2 / (labels.size * voxel**3)
    )
    tau = tortuosity_factor(phase, 0, "x")  # pore phase, CBD and NMC insulating
    assert tau.volume_fraction == pytest.approx(counts[0])
    assert tau.tau >= 1 or np.isinf(tau.tau)  # τ = ε D / D_eff is never below 1
    diameters = grain_size_distribution(tree["particle"].grain_id)
    ids, sizes = np.unique(tree["particle"].grain_id.values, return_counts=True)
    expected = np.sort((6 * sizes[ids > 0] * voxel**3 / np.pi) ** (1 / 3))
    assert np.sort(diameters.values) == pytest.approx(expected)
