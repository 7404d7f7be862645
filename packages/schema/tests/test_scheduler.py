"""`--scheduler`: the three forms, clear errors, and data checks whose report does not depend on
where the blocks were checked (this process's threads or a dask.distributed cluster)."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
import xarray as xr
import zarr

from fusion.cli import main
from fusion.schema import (
    SchedulerError,
    active_client,
    check_reachable,
    make_example,
    scheduler_facts,
    use_scheduler,
    validate,
    write,
)
from fusion.schema._scheduler import ordered_map, parse_scheduler
from fusion.schema.checks import _data as _data_checks


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("default", ("default", None)),
        ("local", ("local", None)),
        ("tcp://10.0.0.5:8786", ("tcp", "tcp://10.0.0.5:8786")),
        ("tcp://scheduler.cluster:8786", ("tcp", "tcp://scheduler.cluster:8786")),
    ],
)
def test_the_three_forms_of_scheduler_parse(spec, parsed):
    assert parse_scheduler(spec) == parsed


@pytest.mark.parametrize(
    "spec", ["threads", "tcp://10.0.0.5", "tcp://:8786", "tcp://host:port", "http://host:8786"]
)
def test_other_schedulers_are_refused_naming_the_forms(spec):
    with pytest.raises(ValueError, match=r"default, local or tcp://HOST:PORT, got"):
        parse_scheduler(spec)


def test_default_runs_here_and_records_so():
    with use_scheduler("default") as client:
        assert client is None
        assert active_client() is None
        assert scheduler_facts() == {"scheduler": "default"}
        check_reachable("memory://x.zarr")  # this process's memory: reachable


def test_workers_size_only_a_local_cluster():
    with pytest.raises(ValueError, match="does not apply to 'default'"), use_scheduler(workers=2):
        pass
    with pytest.raises(ValueError, match="at least 1"), use_scheduler("local", workers=0):
        pass


def test_an_unreachable_scheduler_fails_at_once_naming_the_address():
    address = f"tcp://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    unreachable = pytest.raises(
        SchedulerError, match=f"cannot reach the dask scheduler at {address}"
    )
    with unreachable, use_scheduler(address):
        pass
    assert time.monotonic() - start < 5  # a refused port is not waited on
    assert isinstance(SchedulerError("x"), OSError)  # the fusion command exits 2


def test_validate_names_an_unreachable_scheduler_in_one_line_exit_2(tmp_path, capsys):
    write(make_example(size="tiny"), tmp_path / "ok.zarr")
    address = f"tcp://127.0.0.1:{closed_port()}"
    argv = ["validate", str(tmp_path / "ok.zarr"), "--level", "data", "--scheduler", address]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and address in err[0] and "cannot reach" in err[0]


def test_a_malformed_scheduler_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(tmp_path), "--scheduler", "tcp://nohost"])
    assert exit_info.value.code == 2
    assert "got 'tcp://nohost'" in capsys.readouterr().err


def test_ordered_map_keeps_the_items_order_when_later_items_finish_first():
    def slow_first(i: int) -> int:
        time.sleep(0.02 * (5 - i))
        return i * i

    assert list(ordered_map(slow_first, range(6), threads=3)) == [0, 1, 4, 9, 16, 25]


# -- the same report on a cluster ---------------------------------------------------------------


@pytest.fixture
def damaged(tmp_path):
    """The tiny example in 4-voxel chunks with bad values in several chunks of four channels
    and one corrupt chunk: findings whose counts, first positions and examples depend on the
    order the blocks are merged in."""
    tree = make_example(size="tiny", seed=3)
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        spatial = {d: 4 for d in ("z", "y", "x") if d in ds.dims}
        if spatial:
            node.dataset = ds.chunk(spatial)
    path = tmp_path / "damaged.zarr"
    write(tree, path)
    group = zarr.open_group(path, mode="r+")
    phase = group["particle/phase"]
    phase[1, 5, 6] = 9
    phase[6, 1, 2] = 7
    phase[0, 0, 7] = 200
    grey = group["electrode/grayscale"]
    grey[3, 10, 1] = np.nan
    grey[0, 2, 9] = np.inf
    quat = group["particle/orientation"]
    quat[2, 6, 6] = [0.5, 0.5, 0.5, 0.1]
    quat[7, 0, 0] = [1.0, np.nan, 0.0, 0.0]
    composition = group["particle/composition"]
    composition[5, 5, 5, 0] = 1.5
    composition[0, 4, 0, 3] = -0.25
    (path / "particle" / "grain_id" / "c" / "1" / "0" / "1").write_bytes(b"not a chunk")
    return path


def test_a_cluster_checks_every_block_and_reports_exactly_as_threads_here(damaged, monkeypatch):
    pytest.importorskip("distributed")
    from distributed import get_task_stream

    monkeypatch.setattr(_data_checks, "BLOCK_BYTES", 1)  # blocks of one chunk each
    here = validate(damaged, level="data")
    assert {"data.label-values", "data.not-finite", "data.quat-norm", "data.fraction-range",
            "data.unreadable-chunk"} <= here.codes()  # fmt: skip
    label = next(f for f in here.findings if f.code == "data.label-values")
    assert "found 3 voxel(s) holding [7, 9, 200] (first at z=0, y=0, x=7)" in label.message

    with use_scheduler("local", workers=2, processes=False) as client, get_task_stream() as tasks:
        assert active_client() is client
        assert scheduler_facts() == {
            "scheduler": "local",
            "scheduler_workers": 2,
            "scheduler_threads": 2,
        }
        on_cluster = validate(damaged, level="data")
    assert on_cluster.findings == here.findings  # same findings, same order, same words
    chunks = sum(
        int(np.prod([-(-n // 4) for n in group.to_dataset(inherit=False)[v].shape[:3]]))
        for group in xr.open_datatree(damaged, engine="zarr").subtree
        for v in group.to_dataset(inherit=False).data_vars
    )
    assert len(tasks.data) == chunks  # every block was a task on the cluster


def test_chunk_manifest_findings_are_the_same_when_tasks_cross_a_tcp_cluster(tmp_path, monkeypatch):
    """Each block task hashes the chunks it reads where it runs (on a worker, from a pickled
    store) and sends the digests back: a missing, a changed and a stray chunk are named as the
    threads here name them, and no chunk a task read is fetched again here."""
    distributed = pytest.importorskip("distributed")
    from fusion.schema.checks import _chunk as _chunk_checks

    path = tmp_path / "a.zarr"
    write(make_example(size="tiny", seed=8), path)
    (path / "particle/grain_id/c/0/0/0").unlink()
    phase = zarr.open_array(path / "particle/phase", mode="r+")
    phase[0, 0, 0] = (phase[0, 0, 0] + 1) % 3  # still valid labels: only the hash knows
    manifest = path / "particle/orientation/fusion_chunks.json"
    manifest.write_text('{"manifest": "fusion-chunks/1", "chunks": {}}')  # its chunks: stray
    monkeypatch.setattr(_data_checks, "BLOCK_BYTES", 1)  # blocks of one chunk each
    fetched: list[str] = []
    fetch = _chunk_checks._fetch_unseen

    def spy(objects, manifests, seen, corrupt):
        found = fetch(objects, manifests, seen, corrupt)
        fetched.extend(found)
        return found

    monkeypatch.setattr(_chunk_checks, "_fetch_unseen", spy)
    here = validate(path, level="data")
    fetched_here, fetched[:] = list(fetched), []
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, protocol="tcp://", dashboard_address=":0"
        ) as cluster,  # tasks and results cross the tcp comm, pickled
        use_scheduler(cluster.scheduler_address),
    ):
        on_cluster = validate(path, level="data")
    assert on_cluster.findings == here.findings  # same findings, same order, same words
    assert [(f.code, f.path) for f in here.errors] == [
        ("data.missing-chunk", "/particle/grain_id"),
        ("data.corrupt-chunk", "/particle/orientation"),
        ("data.corrupt-chunk", "/particle/phase"),
    ]
    assert "particle/grain_id/c/0/0/0" in here.errors[0].message
    assert "not listed" in here.errors[1].message and "c/0/0/0/0" in here.errors[1].message
    assert "particle/phase/c/0/0/0 (expected" in here.errors[2].message
    channels = ("particle/phase/", "particle/orientation/", "particle/grain_id/")
    assert fetched == fetched_here and fetched  # only the coordinates' chunks, never a channel's
    assert not any(key.startswith(channels) for key in fetched)
