"""fusion.training.slicegan_xct.groundtruth: generated volumes against a real one, per axis.

A volume compared with itself has no error; one with known extra pore space shows exactly that
fraction error and its effect on the pore tortuosity; a transposed (anisotropic) volume keeps its
fractions but fails the per-axis comparisons, τ's axis order included. The command line runs end
to end on a random SliceGAN-shaped ONNX generator (fusion.training.slicegan.runtime_graph, no torch).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile


@pytest.fixture(scope="module")
def gt():
    from fusion.training.slicegan_xct import groundtruth

    return groundtruth


def electrode(shape=(32, 32, 32), sigma=(2.0, 2.0, 1.0), seed=0) -> np.ndarray:
    """A smooth random 3-phase volume, about 35 % pore, 50 % NMC, 15 % CBD; features are
    shorter along axis 2 (like a calendered electrode) when sigma says so."""
    field = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sigma)
    low, high = np.quantile(field, [0.35, 0.85])
    return np.digitize(field, [low, high]).astype(np.uint8)  # 0 below, 1 between, 2 above


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    return electrode()


@pytest.fixture(scope="module")
def real(gt, volume) -> dict:
    return gt.statistics(volume)


def test_a_volume_against_itself_has_no_error(gt, real):
    result = gt.compare(real, [real, real])
    for r in result["phases"].values():
        assert r["fraction_abs"] == 0
        assert r["surface_rel_per_axis"] == [0, 0, 0]
        assert r["s2_rms_per_axis"] == [0, 0, 0]
        assert r["chord_per_axis"] == r["chord_real_per_axis"]
    tau = result["tau_pore"]
    assert tau["rel_error_per_axis"] == [0, 0, 0]
    assert tau["std_per_axis"] == [0, 0, 0]
    assert tau["axis_order"] == tau["axis_order_real"]
    assert all(result["targets_met"].values())


def test_scattered_extra_pore_shows_as_its_fraction_and_a_higher_tortuosity(gt, volume, real):
    """Pore voxels scattered through NMC add volume but hardly any path: τ = ε D / D_eff, with
    ε the whole phase as in TauFactor, rises along every axis."""
    shifted = volume.copy()
    moved = np.flatnonzero(volume == 1)[::10]  # every 10th NMC voxel becomes pore
    shifted.flat[moved] = 0
    result = gt.compare(real, [gt.statistics(shifted)])
    delta = moved.size / volume.size
    assert delta > 0.04
    assert result["phases"]["pore"]["fraction_abs"] == pytest.approx(delta, abs=1e-12)
    assert result["phases"]["NMC"]["fraction_abs"] == pytest.approx(delta, abs=1e-12)
    assert result["phases"]["CBD"]["fraction_abs"] == 0
    tau = result["tau_pore"]
    assert all(g > r for g, r in zip(tau["per_axis"], tau["real_per_axis"], strict=True))
    assert not result["targets_met"]["fraction"]
    assert not result["targets_met"]["surface"]  # scattered pore voxels add interface


def test_per_axis_comparison_catches_a_transposed_anisotropic_volume(gt, volume, real):
    assert real["tau_pore"][2] > max(real["tau_pore"][:2])  # short features along 2: most tortuous
    swapped = gt.statistics(volume.transpose(2, 1, 0))  # axes 0 and 2 exchanged
    result = gt.compare(real, [swapped])
    assert all(r["fraction_abs"] == 0 for r in result["phases"].values())
    tau = result["tau_pore"]
    assert tau["axis_order"][-1] == 0 and tau["axis_order_real"][-1] == 2
    assert not result["targets_met"]["tau"]
    assert not result["targets_met"]["surface"]


def test_mean_chord_length_leaves_out_runs_cut_by_the_faces(gt):
    line = np.array([[1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1]])
    assert gt.mean_chord_length(line, 1, axis=1) == 3.0  # runs 2 and 4; the edge runs are cut
    assert gt.mean_chord_length(line, 0, axis=1) == pytest.approx(4 / 3)  # runs 1, 2, 1
    assert np.isnan(gt.mean_chord_length(line, 1, axis=0))  # one voxel deep: every run is cut


def test_central_crop(gt):
    volume = np.arange(6**3).reshape(6, 6, 6)
    np.testing.assert_array_equal(gt.central_crop(volume, (2, 4, 6)), volume[2:4, 1:5, :])
    with pytest.raises(ValueError, match=r"cannot crop \(8, 4, 4\)"):
        gt.central_crop(volume, (8, 4, 4))


def reject(constant: str):
    raise ValueError(f"non-standard JSON constant {constant}")


# random weights seldom give a pore path through the volume: τ = inf, which JSON stores as null
@pytest.mark.filterwarnings("ignore:tortuosity_factor:RuntimeWarning")
def test_command_line_compares_an_onnx_generator_with_a_volume(gt, tmp_path, volume, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from fusion.training.slicegan import runtime_graph as graph

    layers = graph.random_layers((16, 8, 8, 8, 8, 3), (2, 2, 2, 2, 3), seed=1)
    onnx_path = tmp_path / "g.onnx"
    onnx_path.write_bytes(graph.build_runtime_model(layers).SerializeToString())
    real_path = tmp_path / "real.tif"
    tifffile.imwrite(real_path, volume)

    gt.main(["--onnx", str(onnx_path), "--volume", str(real_path), "--size", "64", "--seeds", "0", "1"])  # fmt: skip

    record = json.loads((tmp_path / "groundtruth.json").read_text(), parse_constant=reject)
    assert record["crop"] == [32, 32, 32] and record["seeds"] == [0, 1]
    assert set(record["phases"]) == {"pore", "NMC", "CBD"}
    assert record["tau_pore"]["real_per_axis"] == pytest.approx(gt.statistics(volume)["tau_pore"])
    assert sum(r["fraction"] for r in record["phases"].values()) == pytest.approx(1)
    table = (tmp_path / "groundtruth.md").read_text()
    assert "| τ_pore | axis 0 | axis 1 | axis 2 | axis order |" in table
    assert table in capsys.readouterr().out + "\n"


def test_reference_prints_the_real_volume_alone(gt, tmp_path, volume, capsys):
    path = tmp_path / "real.tif"
    tifffile.imwrite(path, volume)
    gt.main(["--reference", "--volume", str(path)])
    out = capsys.readouterr().out
    fractions = np.bincount(volume.ravel()) / volume.size
    assert f"| pore | {fractions[0]:.4f} |" in out
    assert "τ_pore along axes 0 / 1 / 2:" in out
    assert not list(tmp_path.glob("*.json"))


def test_a_volume_with_other_labels_is_refused(gt, tmp_path):
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, np.full((4, 4, 4), 7, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"grey\.tif: expected labels \[0, 1, 2\], got \[7\]"):
        gt.read_volume(path)


def test_a_folder_as_out_is_refused_before_any_work(gt, tmp_path, volume, capsys, monkeypatch):
    real_path = tmp_path / "real.tif"
    tifffile.imwrite(real_path, volume)
    monkeypatch.setattr(
        gt, "read_volume", lambda path: pytest.fail("read before --out was checked")
    )
    with pytest.raises(SystemExit) as exit_:
        gt.main(["--onnx", "g.onnx", "--volume", str(real_path), "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert f"--out {tmp_path} is a folder" in capsys.readouterr().err
