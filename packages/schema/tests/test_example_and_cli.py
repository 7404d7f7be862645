"""`fusion example` and `fusion validate` as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fusion.cli import main
from fusion.schema import make_example, validate


def test_example_command_writes_a_conforming_two_scale_dataset(tmp_path, capsys):
    out = tmp_path / "demo.zarr"
    assert main(["example", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["validate", str(out), "--level", "data"]) == 0
    assert "conforms to fusion/0.2" in capsys.readouterr().out


def test_example_is_seeded_and_science_is_right():
    a, b = make_example(size="small", seed=5), make_example(size="small", seed=5)
    np.testing.assert_array_equal(a["particle"].phase.values, b["particle"].phase.values)
    particle = a["particle"].to_dataset()
    electrode = a["electrode"].to_dataset()
    assert particle.fusion.voxel_size_um == (0.05, 0.05, 0.05)
    assert electrode.fusion.voxel_size_um == (0.4, 0.4, 0.4)
    # the particle field of view lies inside the electrode's: co-registered by coordinates
    for dim in "zyx":
        assert electrode[dim].min() <= particle[dim].min()
        assert particle[dim].max() <= electrode[dim].max()
    fractions = particle.fusion.phase_fractions()
    assert fractions == pytest.approx({"pore": 0.15, "NMC": 0.58, "CBD": 0.27}, abs=0.01)
    quats = particle.orientation.values.reshape(-1, 4)
    quats = quats[~np.isnan(quats).any(axis=1)]
    np.testing.assert_allclose(np.linalg.norm(quats, axis=1), 1, atol=1e-6)
    composition = particle.composition.sel(element=["Li", "Ni", "Mn", "Co", "O"])
    nmc = composition.where(particle.phase == 1).mean(("z", "y", "x"))
    assert nmc.sel(element="Ni") / nmc.sel(element="Mn") == pytest.approx(3, rel=0.05)


def test_unreadable_path_exits_2_with_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.zarr")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "missing.zarr" in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_a_tif_is_unreadable_not_a_crash(tmp_path, capsys):
    fake = tmp_path / "scan.zarr"
    fake.write_bytes(b"II*\x00 not a zarr store")
    assert main(["validate", str(fake), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["readable"] is False
    assert report["findings"][0]["code"] == "store.unreadable"


def test_existing_output_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "demo.zarr"
    assert main(["example", "-o", str(out), "--size", "tiny"]) == 0
    assert main(["example", "-o", str(out), "--size", "tiny"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists" in err[0]


def test_fusion_console_script_runs(tmp_path):
    out = tmp_path / "demo.zarr"
    run = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "example", "-o", str(out), "--size", "tiny"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert validate(out).ok


def test_plain_xarray_opens_what_we_write_without_importing_fusion(tmp_path):
    out = tmp_path / "demo.zarr"
    assert main(["example", "-o", str(out), "--size", "tiny"]) == 0
    code = (
        "import sys, xarray as xr\n"
        f"tree = xr.open_datatree({str(out)!r}, engine='zarr')\n"
        "ds = tree['particle'].to_dataset()\n"
        "assert ds.phase.attrs['flag_meanings'] == 'pore NMC CBD'\n"
        "assert abs(float(ds.x[1] - ds.x[0]) - 0.05) < 1e-12\n"
        "assert not any(m.startswith('fusion') for m in sys.modules), 'fusion was imported'\n"
        "print(sorted(tree.children))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['electrode', 'particle']"


def test_a_file_where_a_store_should_be_is_named_as_such(tmp_path):
    fake = tmp_path / "scan.tif"
    fake.write_bytes(b"II*\x00")
    report = validate(fake)
    assert report.exit_code == 2
    assert "is a file, not a Zarr store folder" in report.findings[0].message


def test_unsupported_target_type_is_a_type_error():
    with pytest.raises(TypeError, match="expected a path"):
        validate(42)
