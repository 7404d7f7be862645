"""Velox EMD: the real EDS spectrum image (shared/data/instruments/README.md: 16 × 16 × 4096
counts, −0.25 keV + 0.01 keV per channel, 3.599249 nm pixels, the SI and element maps at
y −32.3932 nm, x −39.5917 nm, the HAADF at 0), and EELS spectrum images in files written to
the container's layout (no real Velox EELS file is available)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest

from fusion.loaders import LoaderWarning, NoSignalError, load
from fusion.schema import validate, write

NM = 1e-3  # µm


@pytest.fixture(scope="module")
def emd(instruments):
    return instruments / "eds" / "velox_SI_16x16_215kx.emd"


@pytest.fixture(scope="module")
def eds(emd):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        tree = load("eds", emd)
    return tree, [str(w.message) for w in caught if issubclass(w.category, LoaderWarning)]


def test_the_eds_spectrum_image_as_the_readme_says(eds):
    tree, said = eds
    group = tree["eds"].to_dataset()
    spectrum = group.spectrum
    assert spectrum.dims == ("z", "y", "x", "xray_energy") and spectrum.shape == (1, 16, 16, 4096)
    assert spectrum.dtype == np.uint16
    assert int(spectrum.sum()) == 42097 and int(spectrum.max()) == 60
    energy = group.xray_energy.values
    assert energy[0] == pytest.approx(-250.0) and np.diff(energy) == pytest.approx(10.0)
    assert group.xray_energy.attrs["units"] == "eV"
    assert group.fusion.voxel_size_um[1:] == pytest.approx((3.599249 * NM, 3.599249 * NM))
    assert float(group.y[0]) == pytest.approx(-32.3932 * NM, abs=1e-7)
    assert float(group.x[0]) == pytest.approx(-39.5917 * NM, abs=1e-7)
    assert spectrum.attrs["modality"] == "EDS" and spectrum.attrs["units"] == "counts"
    assert spectrum.attrs["beam_energy_kV"] == 300.0
    assert tree.attrs["fusion"]["schema"] == "fusion/0.3"
    assert any("not loaded: 4 × EDS (EDS_TEM, 1-D)" in s for s in said)  # the sum spectra


def test_element_maps_and_the_haadf_keep_their_own_origins(eds):
    tree, _ = eds
    group = tree["eds"].to_dataset()
    assert {"C", "Ca", "O", "Cu"} <= set(group.data_vars)
    assert group.C.attrs["origin"] == "derived" and group.C.attrs["element"] == "C"
    haadf = tree["haadf"].to_dataset()
    assert haadf.intensity.shape == (1, 16, 16) and haadf.intensity.attrs["modality"] == "STEM"
    assert float(haadf.y[0]) == 0.0 and float(haadf.x[0]) == 0.0


def test_it_validates_and_writes(eds, tmp_path):
    tree, _ = eds
    assert validate(tree, level="data").ok
    write(tree, tmp_path / "eds.zarr")
    assert validate(tmp_path / "eds.zarr", level="data").ok


def test_a_0_2_store_with_an_x_ray_spectrum_is_refused(eds):
    tree, _ = eds
    old = tree.copy()
    old.attrs = {"fusion": {**tree.attrs["fusion"], "schema": "fusion/0.2"}}
    report = validate(old)
    assert [(f.code, f.path) for f in report.errors] == [("channel.requires-0.3", "/eds/spectrum")]


def _json_dataset(group, name, document) -> None:
    raw = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    group.create_dataset(name, data=np.pad(raw, (0, 64))[:, np.newaxis])


def with_eels(emd, path, *, offset=120.0, dispersion=0.25, eds=True):
    """A copy of the real file with one EELS spectrum image added as Velox stores it
    (``Data/EelsSpectrumImage/<id>/Data`` with its ``Metadata`` and ``AcquisitionMetadata``);
    without ``eds``, its EDS spectrum stream removed."""
    shutil.copy(emd, path)
    cube = np.arange(16 * 300 * 16, dtype=np.float32).reshape(16, 300, 16) % 97
    with h5py.File(path, "r+") as f:
        data = f["Data"]
        si = next(iter(data["SpectrumImage"].values()))
        eels = data.create_group("EelsSpectrumImage").create_group("0" * 32)
        eels.create_dataset("Data", data=cube)
        eels.create_dataset("Metadata", data=si["Metadata"][:])
        _json_dataset(eels, "AcquisitionMetadata", {"Data": {"offset": offset,
                                                             "dispersion": dispersion}})  # fmt: skip
        if not eds:
            del data["SpectrumStream"]
    return path


def test_eels_in_a_velox_file(emd, tmp_path):
    path = with_eels(emd, tmp_path / "eels.emd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        tree = load("eels", path)
    group = tree["eels"].to_dataset()
    assert group.spectrum.dims == ("z", "y", "x", "energy_loss")
    assert group.spectrum.shape == (1, 16, 16, 300)
    assert group.energy_loss.values[0] == pytest.approx(120.0)
    assert np.diff(group.energy_loss.values) == pytest.approx(0.25)
    assert float(group.y[0]) == pytest.approx(-32.3932 * NM, abs=1e-7)
    from rsciio.emd import file_reader

    (reference,) = [s for s in file_reader(str(path), sum_frames=True)
                    if s["metadata"]["Signal"]["signal_type"] == "EELS"]  # fmt: skip
    by_name = {a["name"]: a["index_in_array"] for a in reference["axes"]}
    expected = np.asarray(reference["data"]).transpose(
        by_name["y"], by_name["x"], by_name["Energy-loss"]
    )  # the reader's axes, by their names
    np.testing.assert_array_equal(group.spectrum.values[0], expected)
    assert any("not EELS, not loaded" in str(w.message) for w in caught)  # the EDS and images
    assert validate(tree, level="data").ok and tree.attrs["fusion"]["schema"] == "fusion/0.2"
    eds_tree = load("eds", path)  # the EDS of the same file, the EELS left out
    assert "eds" in eds_tree.children and "eels" not in eds_tree.children


def test_a_velox_file_without_the_spectra_asked_for_is_one_line_exit_1(emd, tmp_path):
    with pytest.raises(NoSignalError, match=r"no EELS spectrum image in this Velox file"):
        load("eels", emd)
    images_only = tmp_path / "images.emd"
    shutil.copy(emd, images_only)
    with h5py.File(images_only, "r+") as f:
        del f["Data"]["SpectrumStream"]
    with pytest.raises(NoSignalError, match=r"no EDS spectrum image in this Velox file"):
        load("eds", images_only)
    out = tmp_path / "never.zarr"
    done = subprocess.run([sys.executable, "-m", "fusion.cli", "load", "eds", str(images_only),
                           "-o", str(out)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no EDS spectrum image" in done.stderr
    assert not out.exists()


def test_a_truncated_velox_file_is_named(emd, tmp_path):
    broken = tmp_path / "cut.emd"
    broken.write_bytes(emd.read_bytes()[:300_000])
    with pytest.raises(Exception, match=r"cut\.emd") as caught:
        load("eds", broken)
    assert getattr(caught.value, "exit_code", None) == 2
