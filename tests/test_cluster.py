"""``--scheduler``: a dask.distributed cluster of two workers generates and segments exactly what
the default scheduler does, records itself in the provenance, and refuses stores its workers
cannot reach. (Validation on a cluster: packages/schema/tests/test_scheduler.py.)"""

from __future__ import annotations

import importlib
import logging
import os

import numpy as np
import pytest
import xarray as xr

from fusion.cli import main
from fusion.models import generate, segment
from fusion.registry.testing import tiny_generator, tiny_segmenter, write_registry
from fusion.schema import open_group, use_scheduler, validate, write
from fusion.schema.testing import grey_image_tree

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    models = {
        "tiny": {"0.1.0": tiny_generator(folder / "gen")},
        "tinyseg": {"0.1.0": tiny_segmenter(folder / "seg")},
    }
    return str(write_registry(folder / "registry.yaml", models=models))


@pytest.fixture(autouse=True)
def model_cache(registry, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", os.path.join(os.path.dirname(registry), "cache"))


@pytest.fixture(scope="module")
def cluster():
    """Two workers behind a tcp:// scheduler, as threads of this process so that it starts in
    about a second; every graph, task and result still crosses the tcp comm, pickled."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as local:
        yield local.scheduler_address


@pytest.fixture
def grey(tmp_path):
    stack = np.random.default_rng(5).integers(0, 4000, (3, 40, 70), dtype=np.uint16)
    path = tmp_path / "grey.zarr"
    write(grey_image_tree(stack, 0.01), path)
    return path


def opened(path) -> xr.DataTree:
    return xr.open_datatree(open_group(path).store, engine="zarr")  # folders and zips


def stored(path, group, name):
    return opened(path)[group][name].values


def run_parameters(path, kind):
    activities = opened(path).attrs["fusion"]["provenance"]["activities"]
    return next(a for a in activities.values() if a["type"] == kind)["parameters"]


def test_a_cluster_generates_the_default_volume_tile_by_tile(registry, cluster, tmp_path, capsys):
    def tiled(where):
        tree = generate("model:tiny", (10, 10, 10), seed=2, registry=registry, device="cpu", tile=4)
        write(tree, where)

    tiled(tmp_path / "here.zarr")
    with use_scheduler(cluster):
        tiled(tmp_path / "cluster.zarr")  # 5 x 5 x 5 tiles of 2³ voxels
    here, there = (
        stored(tmp_path / p, "generated", "phase") for p in ("here.zarr", "cluster.zarr")
    )
    np.testing.assert_array_equal(there, here)
    facts = run_parameters(tmp_path / "cluster.zarr", "generate")
    assert (facts["scheduler"], facts["scheduler_workers"], facts["threads"]) == ("tcp", 2, 1)
    assert run_parameters(tmp_path / "here.zarr", "generate")["scheduler"] == "default"

    common = ["generate", "model:tiny", "--shape", "6", "7", "8", "--seed", "4",
              "--device", "cpu", "--registry", registry]  # fmt: skip
    assert main([*common, "-o", str(tmp_path / "a.zarr")]) == 0
    assert main([*common, "-o", str(tmp_path / "b.zip"), "--scheduler", cluster]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(":", 1)[1] == lines[1].split(":", 1)[1]  # same fractions printed
    a, b = (stored(tmp_path / p, "generated", "phase") for p in ("a.zarr", "b.zip"))
    np.testing.assert_array_equal(b, a)
    assert validate(tmp_path / "b.zip", level="data").ok


def test_a_cluster_segments_like_the_default_slice_by_slice(registry, cluster, grey, tmp_path):
    common = ["segment", "model:tinyseg", str(grey), "--device", "cpu", "--tile", "32",
              "--overlap", "16", "--registry", registry]  # fmt: skip
    assert main([*common, "-o", str(tmp_path / "here.zarr")]) == 0
    assert main([*common, "-o", str(tmp_path / "cluster.zarr"), "--scheduler", cluster]) == 0
    here, there = (stored(tmp_path / p, "image", "phase") for p in ("here.zarr", "cluster.zarr"))
    assert len(np.unique(here)) > 1
    np.testing.assert_array_equal(there, here)
    assert run_parameters(tmp_path / "cluster.zarr", "segment")["scheduler"] == "tcp"
    assert validate(tmp_path / "cluster.zarr", level="data").ok


def test_memory_stores_are_refused_when_workers_cannot_reach_them(registry, cluster, grey, capsys):
    argv = ["generate", "model:tiny", "--shape", "4", "4", "4", "--device", "cpu",
            "--registry", registry, "-o", "memory://lost.zarr", "--scheduler", cluster]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "memory://lost.zarr" in err[0] and "workers cannot reach" in err[0]
    with use_scheduler(cluster), pytest.raises(OSError, match="memory:// input"):
        segment("memory://grey.zarr", "model:tinyseg", registry=registry, device="cpu")


def test_worker_processes_open_their_own_sessions_and_give_the_same_results(
    registry, grey, tmp_path
):
    """``--scheduler local``: worker processes, so each task (model file, card, normaliser,
    zarr stores) must pickle, and each worker opens the model itself."""
    gen = {"shape": (10, 10, 10), "seed": 2, "registry": registry, "device": "cpu", "tile": 4}
    seg = {"registry": registry, "device": "cpu", "tile": 32, "overlap": 16}
    write(generate("model:tiny", **gen), tmp_path / "gen-here.zarr")
    write(segment(grey, "model:tinyseg", **seg), tmp_path / "seg-here.zarr")
    with use_scheduler("local", workers=2) as client:
        write(generate("model:tiny", **gen), tmp_path / "gen.zarr")
        write(segment(grey, "model:tinyseg", **seg), tmp_path / "seg.zarr")
        workers = client.run(  # (process id, ONNX sessions open in it) of each worker
            lambda: (os.getpid(), len(importlib.import_module("fusion.models._sessions")._sessions))
        )
    assert all(pid != os.getpid() for pid, _ in workers.values())
    assert sum(count for _, count in workers.values()) >= 2  # generator and segmenter, at least
    for name, group in (("gen", "generated"), ("seg", "image")):
        here = stored(tmp_path / f"{name}-here.zarr", group, "phase")
        np.testing.assert_array_equal(stored(tmp_path / f"{name}.zarr", group, "phase"), here)
        # chunks written by the workers are in the chunk manifest, as when written here
        manifests = [tmp_path / f"{n}.zarr" / group / "phase" / "fusion_chunks.json"
                     for n in (name, f"{name}-here")]  # fmt: skip
        assert manifests[0].read_bytes() == manifests[1].read_bytes()
        assert validate(tmp_path / f"{name}.zarr", level="data").ok
    assert run_parameters(tmp_path / "gen.zarr", "generate")["scheduler"] == "local"
