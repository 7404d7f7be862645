"""The writer: atomic on local folders and zips, marked incomplete on object stores, never lossy."""

from __future__ import annotations

import os

import pytest
import xarray as xr
import zarr

import fusion.schema.store._write as writer
from fusion.schema import SchemaError, WriteError, make_example, validate, write


def _no_partials(folder) -> bool:
    return not [p for p in os.listdir(folder) if ".partial" in p or p.endswith(".old")]


def test_written_store_conforms_and_reopens(tmp_path):
    tree = make_example(size="tiny", seed=3)
    where = write(tree, tmp_path / "a.zarr")
    assert validate(where, level="data").ok
    back = xr.open_datatree(where, engine="zarr")
    xr.testing.assert_equal(back["particle"].phase, tree["particle"].phase)
    assert back.attrs["fusion"] == tree.attrs["fusion"]
    assert "fusion_incomplete" not in back.attrs
    assert _no_partials(tmp_path)


def test_existing_dataset_is_not_replaced_without_overwrite(tmp_path):
    dest = tmp_path / "a.zarr"
    write(make_example(size="tiny", seed=1), dest)
    before = sorted(p.name for p in dest.rglob("*"))
    with pytest.raises(WriteError, match="exists"):
        write(make_example(size="tiny", seed=2), dest)
    assert sorted(p.name for p in dest.rglob("*")) == before


def test_overwrite_replaces_whole(tmp_path):
    dest = tmp_path / "a.zarr"
    write(make_example(size="tiny", seed=1), dest)
    write(make_example(size="tiny", seed=2), dest, overwrite=True)
    back = xr.open_datatree(dest, engine="zarr")
    assert (
        back.attrs["fusion"]["provenance"]["activities"]["generate-example"]["parameters"]["seed"]
        == 2
    )
    assert _no_partials(tmp_path)


def _crash_midway(monkeypatch):
    """Make the write fail after the arrays are stored but before the marker is removed."""
    real_open_group = writer.zarr.open_group

    def boom(store, mode="r", **kwargs):
        if mode == "r+":
            raise RuntimeError("disk full (simulated)")
        return real_open_group(store, mode=mode, **kwargs)

    monkeypatch.setattr(writer.zarr, "open_group", boom)


def test_crash_keeps_the_old_dataset_and_leaves_no_debris(tmp_path, monkeypatch):
    dest = tmp_path / "a.zarr"
    write(make_example(size="tiny", seed=1), dest)
    _crash_midway(monkeypatch)
    with pytest.raises(WriteError, match="disk full"):
        write(make_example(size="tiny", seed=2), dest, overwrite=True)
    assert validate(dest, level="data").ok
    seed = xr.open_datatree(dest, engine="zarr").attrs["fusion"]["provenance"]["activities"][
        "generate-example"
    ]["parameters"]["seed"]
    assert seed == 1
    assert _no_partials(tmp_path)


def test_crash_on_a_fresh_destination_leaves_nothing(tmp_path, monkeypatch):
    _crash_midway(monkeypatch)
    with pytest.raises(WriteError):
        write(make_example(size="tiny"), tmp_path / "new.zarr")
    assert os.listdir(tmp_path) == []


def test_crash_on_an_object_store_leaves_a_store_that_does_not_validate(monkeypatch):
    url = "memory://crash/a.zarr"
    _crash_midway(monkeypatch)
    with pytest.raises(WriteError, match="incomplete"):
        write(make_example(size="tiny"), url)
    report = validate(url)
    assert "root.incomplete-write" in report.codes()
    assert not report.ok


def test_object_store_write_conforms(tmp_path):
    url = "memory://ok/a.zarr"
    write(make_example(size="tiny"), url)
    assert validate(url, level="data").ok
    assert xr.open_datatree(url, engine="zarr").attrs["fusion"]["schema"] == "fusion/0.2"
    with pytest.raises(WriteError, match="exists"):
        write(make_example(size="tiny"), url)


def test_zip_archive_conforms_and_opens_with_plain_zarr(tmp_path):
    dest = tmp_path / "a.zip"
    write(make_example(size="tiny"), dest)
    assert validate(dest, level="data").ok
    tree = xr.open_datatree(zarr.storage.ZipStore(dest, mode="r"), engine="zarr")
    assert tree["particle"].quat.values.tolist() == ["w", "x", "y", "z"]
    assert _no_partials(tmp_path)


def test_non_conforming_tree_is_refused_before_anything_is_written(tmp_path):
    tree = make_example(size="tiny")
    tree["particle"].phase.attrs["units"] = "micron"
    with pytest.raises(SchemaError, match="micron"):
        write(tree, tmp_path / "bad.zarr")
    assert os.listdir(tmp_path) == []


def test_in_memory_channels_are_chunked():
    import numpy as np

    assert writer.chunk_shape((64, 64, 64), np.dtype("uint8")) == (64, 64, 64)
    chunk = writer.chunk_shape((1024, 1024, 1024, 4), np.dtype("float32"))
    assert chunk[3] == 4 and np.prod(chunk) * 4 <= writer.CHUNK_BYTES


def test_fixed_width_string_coordinates_are_stored_as_variable_length(tmp_path):
    import numpy as np

    tree = make_example(size="tiny")
    particle = tree["particle"].to_dataset()
    tree["particle"] = xr.DataTree(
        particle.assign_coords(element=("element", np.array(particle.element.values, dtype="U2")))
    )
    write(tree, tmp_path / "a.zarr")
    import json

    document = json.loads((tmp_path / "a.zarr" / "particle" / "element" / "zarr.json").read_text())
    assert document["data_type"] == "string"  # Zarr's variable-length UTF-8, not fixed UTF-32
    assert validate(tmp_path / "a.zarr", level="data").ok


def test_table_coordinate_off_the_voxel_grid_is_a_coordinate_in_memory_and_on_disk(tmp_path):
    import numpy as np

    tree = make_example(size="tiny")
    particle = (
        tree["particle"]
        .to_dataset()
        .assign_coords(
            energy_loss=("energy_loss", np.arange(3.0), {"units": "eV"}),
            spectrum=("spectrum", np.array(["NMC", "CBD"], dtype=object)),
        )
    )
    table = (("spectrum", "energy_loss"), np.ones((2, 3)), {"units": "counts"})
    tree["particle"] = xr.DataTree(particle.assign_coords(phase_spectrum=table))
    assert validate(tree, level="data").ok
    write(tree, tmp_path / "a.zarr")
    # xarray lists it in the group's `coordinates` attribute: it shares no dim with a channel
    assert "phase_spectrum" in zarr.open_group(tmp_path / "a.zarr")["particle"].attrs["coordinates"]
    assert validate(tmp_path / "a.zarr", level="data").ok


_KILLED_WRITER = """
import sys, time
from pathlib import Path
import fusion.schema.store._write as writer
from fusion.schema import make_example, write

def stall(*args, **kwargs):
    Path(sys.argv[2]).touch()  # the partial is on disk, half written
    time.sleep(60)

writer._write_manifests = stall
write(make_example(size="tiny"), sys.argv[1])
"""


@pytest.mark.parametrize("name", ["a.zarr", "a.zip"])
def test_a_killed_write_leaves_partials_that_the_next_write_removes(tmp_path, name):
    import signal
    import subprocess
    import sys
    import time

    dest, ready = tmp_path / name, tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(dest), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the writer never got half-way"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    stale = [p for p in os.listdir(tmp_path) if p.startswith(f".{name}.")]
    assert stale and not dest.exists()
    other = tmp_path / f"b{name}"  # a partial of another target is not this write's
    other_partial = tmp_path / f".{other.name}.0123456789ab.partial"
    other_partial.mkdir()
    write(make_example(size="tiny"), dest)
    assert validate(dest).ok
    assert [p for p in os.listdir(tmp_path) if p.startswith(f".{name}.")] == []
    assert other_partial.exists()


def test_a_partial_being_written_is_left_alone(tmp_path, monkeypatch):
    """Partials of the same target still locked by a running write are kept."""
    from fusion.schema.store._partials import claimed_partial

    dest = tmp_path / "a.zarr"
    with claimed_partial(dest) as busy:
        write(make_example(size="tiny"), dest)
        assert busy.exists()
    assert validate(dest).ok


def test_a_dataset_the_disk_cannot_hold_is_refused_and_the_old_one_kept(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from fusion.schema import NoRoomError

    tree = make_example(size="tiny", seed=3)
    write(tree, tmp_path / "a.zarr")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    nbytes = writer._nbytes(tree)
    assert nbytes == sum(v.nbytes for n in tree.subtree for v in n.dataset.variables.values())
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 0, nbytes // 101))
    with pytest.raises(NoRoomError, match=r"a\.zarr: not enough room: the dataset is .* free"):
        write(tree, tmp_path / "a.zarr", overwrite=True)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 0, nbytes // 99))
    write(tree, tmp_path / "a.zarr", overwrite=True)  # fits if it compresses 99×: goes ahead
