"""Serial-section EBSD: MTEX's 59 real sections of bcc iron read into one 3-D orientation volume
(shared/data/instruments/README.md: 59 × 40 × 35 voxels, 0.4 µm steps from the data columns,
sections in file-name order, the spacing in no file)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from fusion.loaders import LoaderError, LoaderWarning, load
from fusion.schema import validate


@pytest.fixture(scope="module")
def sections(instruments) -> Path:
    return instruments / "ebsd" / "serial_sections"


@pytest.fixture(scope="module")
def files(sections) -> list[Path]:
    found = sorted(sections.glob("S*.ANG"))
    assert len(found) == 59
    return found


@pytest.fixture(scope="module")
def volume(files):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        tree = load("ebsd", files, slice_spacing_um=0.25)
    return tree, [str(w.message) for w in caught if issubclass(w.category, LoaderWarning)]


def test_one_volume_of_59_by_40_by_35_on_the_data_grid(volume):
    tree, said = volume
    group = tree["ebsd"].to_dataset()
    assert group.orientation.shape == (59, 40, 35, 4)
    assert group.fusion.voxel_size_um == pytest.approx((0.25, 0.4, 0.4))
    assert float(group.z[0]) == 0.0 and float(group.z[-1]) == pytest.approx(58 * 0.25)
    assert group.phase.attrs["flag_meanings"].split() == ["not_indexed", "Iron_bcc_old"] or (
        "Iron_bcc_old" in group.phase.attrs["flag_meanings"]
    )
    assert group.orientation.attrs["crystal_symmetry"] == {"Iron_bcc_old": "m-3m"}
    assert int((group.phase[0] == -1).sum()) == 342  # README: S00 has 342 unindexed points
    assert len(said) == 1 and "S00.ANG and 58 more sections" in said[0]  # the stale header, once
    assert validate(tree, level="data").ok


def test_sections_are_in_file_name_order_and_as_read_one_by_one(volume, files):
    tree, _ = volume
    group = tree["ebsd"].to_dataset()
    for index in (0, 7, 58):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LoaderWarning)
            single = load("ebsd", files[index])["ebsd"].to_dataset()
        np.testing.assert_array_equal(group.orientation[index].values,
                                      single.orientation[0].values)  # fmt: skip
        np.testing.assert_array_equal(group.ci[index].values, single.ci[0].values)


def test_the_files_are_one_entity_their_manifest(volume, files):
    tree, _ = volume
    entity = tree.attrs["fusion"]["provenance"]["entities"]["raw"]
    manifest = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in files)
    assert entity["sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    assert entity["size"] == sum(f.stat().st_size for f in files)
    activity = tree.attrs["fusion"]["provenance"]["activities"]["load"]
    assert activity["parameters"]["slice_spacing_um"] == 0.25
    assert activity["parameters"]["sections"] == 59


def test_a_folder_and_a_glob_read_the_same(volume, sections):
    tree, _ = volume
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        by_folder = load("ebsd", sections, slice_spacing_um=0.25)
        by_glob = load("ebsd", [sections / "S*.ANG"], slice_spacing_um=0.25)
    for other in (by_folder, by_glob):
        np.testing.assert_array_equal(other["ebsd"].phase.values, tree["ebsd"].phase.values)


def test_the_spacing_is_required(files):
    with pytest.raises(LoaderError, match=r"in no EBSD file.*slice_spacing_um=\.\.\."):
        load("ebsd", files[:3])
    with pytest.raises(LoaderError, match="for serial sections"):
        load("ebsd", files[0], slice_spacing_um=0.4)


def test_gaps_repeats_and_odd_sections_are_named(tmp_path, files):
    with pytest.raises(LoaderError, match=r"S03\.ANG: section 2 is missing before it"):
        load("ebsd", [files[0], files[1], files[3]], slice_spacing_um=0.4)
    twin = tmp_path / "S1.ang"
    shutil.copy(files[1], twin)
    with pytest.raises(LoaderError, match=r"section 1 again"):
        load("ebsd", [files[0], files[1], twin], slice_spacing_um=0.4)
    lines = files[2].read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    rows = [line for line in lines if not line.startswith("#")]
    short = tmp_path / "S02.ANG"  # one row of points fewer: another grid
    short.write_text("".join(header + rows[:-35]))
    with pytest.raises(LoaderError, match=r"S02\.ANG: its y grid \(39 points"):
        load("ebsd", [files[0], files[1], short], slice_spacing_um=0.4)
    renamed = tmp_path / "S02.ANG"
    renamed.write_text("".join(lines).replace("Iron bcc (old)", "Ferrite"))
    with pytest.raises(LoaderError, match=r"S02\.ANG: its phases"):
        load("ebsd", [files[0], files[1], renamed], slice_spacing_um=0.4)


def test_the_command(tmp_path, sections):
    base = [sys.executable, "-m", "fusion.cli", "load", "ebsd", str(sections / "S*.ANG"),
            "-o", str(tmp_path / "ebsd3d.zarr")]  # fmt: skip
    refused = subprocess.run(base, capture_output=True, text=True)
    assert refused.returncode == 2 and "--slice-spacing UM" in refused.stderr
    assert not (tmp_path / "ebsd3d.zarr").exists()
    done = subprocess.run([*base, "--slice-spacing", "0.25"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ebsd 59x40x35x4 voxel (z, y, x) 0.25 x 0.4 x 0.4 um" in done.stdout
    assert validate(tmp_path / "ebsd3d.zarr", level="data").ok
