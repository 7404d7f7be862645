"""Activities whose channels are lazy end when `write` has computed and stored them."""

from __future__ import annotations

import datetime as dt
import os
import time

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from fusion.schema import SchemaError, WriteError, end_when_written, make_example, validate, write
from fusion.schema.store._write_times import ENDS_WHEN_WRITTEN, with_written_times

SLEEP_S = 0.3


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _slow(block: np.ndarray) -> np.ndarray:
    time.sleep(SLEEP_S)
    return block


def _failing(block: np.ndarray) -> np.ndarray:
    raise RuntimeError("the model crashed (simulated)")


def lazy_example(compute=_slow) -> xr.DataTree:
    """The tiny example whose ``render-grayscale`` activity is lazy: its one channel is a dask
    array computed (one block, through ``compute``) only when written, and the activity was
    recorded as ending when the graph was built, after the example was created."""
    tree = make_example(size="tiny", seed=3)
    electrode = tree["electrode"].to_dataset(inherit=False)
    grey = electrode.grayscale.variable
    lazy = da.from_array(grey.values, chunks=-1).map_blocks(compute, dtype=grey.dtype)
    tree["electrode"].dataset = electrode.assign(grayscale=grey.copy(data=lazy))
    built = _now().isoformat(timespec="milliseconds")
    activity = tree.attrs["fusion"]["provenance"]["activities"]["render-grayscale"]
    activity["started"] = activity["ended"] = built
    tree.attrs["fusion"]["modified"] = built
    return end_when_written(tree, "render-grayscale")


def test_a_lazy_activity_ends_when_its_data_is_computed_and_stored(tmp_path):
    tree = lazy_example()
    before = {k: tree.attrs["fusion"][k] for k in ("created", "modified")}
    activities = tree.attrs["fusion"]["provenance"]["activities"]
    in_memory = {name: dict(activity) for name, activity in activities.items()}
    write(tree, tmp_path / "a.zarr")
    after_write = _now()

    stored = xr.open_datatree(tmp_path / "a.zarr", engine="zarr").attrs
    render = stored["fusion"]["provenance"]["activities"]["render-grayscale"]
    started, ended = _time(render["started"]), _time(render["ended"])
    assert render["started"] == in_memory["render-grayscale"]["started"]
    assert ended - started >= dt.timedelta(seconds=SLEEP_S)  # the compute, not the graph
    assert ended <= after_write
    assert stored["fusion"]["modified"] == render["ended"]
    assert stored["fusion"]["created"] == before["created"]  # made before the lazy activity
    # the eager activity keeps its times; the mark is never stored; the caller's tree is as it was
    generate = stored["fusion"]["provenance"]["activities"]["generate-example"]
    assert generate == in_memory["generate-example"]
    assert ENDS_WHEN_WRITTEN not in stored
    assert tree.attrs["fusion"]["modified"] == before["modified"]
    assert activities["render-grayscale"] == in_memory["render-grayscale"]
    assert validate(tmp_path / "a.zarr", level="data").ok


def test_the_mark_passes_the_metadata_check_and_is_not_written_to_object_stores():
    tree = lazy_example(compute=lambda block: block)
    assert validate(tree, level="metadata").ok
    write(tree, "memory://ends-at-write.zarr")
    stored = xr.open_datatree("memory://ends-at-write.zarr", engine="zarr").attrs
    assert list(stored) == ["fusion"]
    render = stored["fusion"]["provenance"]["activities"]["render-grayscale"]
    assert _time(render["ended"]) >= _time(render["started"])


def test_a_failing_compute_leaves_nothing_at_the_destination(tmp_path):
    with pytest.raises(WriteError, match=r"a\.zarr failed, nothing was changed.*crashed"):
        write(lazy_example(compute=_failing), tmp_path / "a.zarr")
    assert os.listdir(tmp_path) == []


def test_a_failing_compute_keeps_the_dataset_it_would_have_replaced(tmp_path):
    dest = tmp_path / "a.zarr"
    write(make_example(size="tiny", seed=1), dest)
    before = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    with pytest.raises(WriteError):
        write(lazy_example(compute=_failing), dest, overwrite=True)
    assert {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert os.listdir(tmp_path) == ["a.zarr"]


def test_marking_an_activity_the_provenance_lacks_is_refused_in_one_line(tmp_path):
    tree = make_example(size="tiny", seed=1)
    with pytest.raises(SchemaError, match=r"names \['segment'\], which are not activities"):
        end_when_written(tree, "segment")
    assert ENDS_WHEN_WRITTEN not in tree.attrs
    tree.attrs[ENDS_WHEN_WRITTEN] = ["segment"]  # set by hand: refused before any byte
    with pytest.raises(SchemaError, match=r"\['generate-example', 'render-grayscale'\]"):
        write(tree, tmp_path / "a.zarr")
    assert os.listdir(tmp_path) == []


def _root(created: str, started: str, ended: str, modified: str) -> dict:
    run = {"started": started, "ended": ended}
    return {
        "created": created,
        "modified": modified,
        "provenance": {"activities": {"run": run, "load": {"started": created, "ended": created}}},
    }


def test_created_moves_only_where_the_lazy_activity_made_the_dataset():
    written = dt.datetime(2026, 1, 15, 9, 20, 5, 123456, tzinfo=dt.UTC)
    t0, t1 = "2026-01-15T09:20:00.000+00:00", "2026-01-15T09:20:01.000+00:00"
    made = with_written_times(_root(t1, t0, t1, t1), ["run"], written)
    assert made["created"] == made["modified"] == "2026-01-15T09:20:05.123+00:00"
    assert made["provenance"]["activities"]["run"]["ended"] == "2026-01-15T09:20:05.123+00:00"
    added = with_written_times(_root(t0, t1, t1, t1), ["run"], written)
    assert added["created"] == t0 and added["modified"] == "2026-01-15T09:20:05.123+00:00"
    assert added["provenance"]["activities"]["load"] == {"started": t0, "ended": t0}
    assert with_written_times(_root(t0, t0, t1, t1), [], written) == _root(t0, t0, t1, t1)


def test_a_clock_set_back_never_ends_an_activity_before_it_started():
    written = dt.datetime(2026, 1, 15, 9, 19, 0, tzinfo=dt.UTC)  # before the recorded start
    t0, t1 = "2026-01-15T09:20:00.000+00:00", "2026-01-15T09:20:01.000+00:00"
    stamped = with_written_times(_root(t0, t0, t1, t1), ["run"], written)
    assert stamped["provenance"]["activities"]["run"]["ended"] == t0
    assert stamped["modified"] == t1  # never earlier than it was
