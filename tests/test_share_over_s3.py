"""Sharing through an object store: write and push to an S3 API server on 127.0.0.1 (moto,
started by the test), open with plain xarray, validate remotely, pull by name from a registry;
a damaged remote chunk is named, a stopped push never validates."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
import zarr

from fusion.cli import main
from fusion.fuse import fuse
from fusion.registry._cli import pull_main
from fusion.schema import WriteError, make_example, push, validate, write

CREDENTIALS = {"key": "testing", "secret": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    """An S3 API server on 127.0.0.1 with one bucket; yields the storage options to reach it."""
    import s3fs
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", **CREDENTIALS}
    # moto keeps its buckets per process, not per server: start each test from nothing
    reset = urllib.request.Request(f"{options['endpoint_url']}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    s3fs.S3FileSystem(**options, skip_instance_cache=True).makedirs("shared", exist_ok=True)
    yield options
    server.stop()


@pytest.mark.network
def test_write_open_and_validate_on_s3(s3):
    tree = make_example(size="tiny", seed=4)
    url = "s3://shared/nmc/demo.zarr"
    write(tree, url, storage_options=s3)
    report = validate(url, level="data", storage_options=s3)
    assert report.ok, str(report)
    remote = xr.open_datatree(url, engine="zarr", storage_options=s3)
    np.testing.assert_array_equal(remote["particle"].phase.values, tree["particle"].phase.values)
    assert remote["particle"].phase.attrs["flag_meanings"] == "pore NMC CBD"
    option = f"endpoint_url={s3['endpoint_url']}"
    argv = ["validate", url, "--level", "data", "--storage-option", option,
            "--storage-option", "key=testing", "--storage-option", "secret=testing"]  # fmt: skip
    assert main(argv) == 0


@pytest.mark.network
def test_existing_remote_dataset_is_kept_without_overwrite(s3):
    url = "s3://shared/keep-test.zarr"
    write(make_example(size="tiny", seed=1), url, storage_options=s3)
    with pytest.raises(OSError, match="exists"):
        write(make_example(size="tiny", seed=2), url, storage_options=s3)
    seed = xr.open_datatree(url, engine="zarr", storage_options=s3).attrs["fusion"]["provenance"][
        "activities"
    ]["generate-example"]["parameters"]["seed"]
    assert seed == 1


def _options(s3) -> list[str]:
    return [f"--storage-option={key}={value}" for key, value in s3.items()]


def _remote(s3):
    import s3fs

    return s3fs.S3FileSystem(**s3, skip_instance_cache=True)


@pytest.fixture
def local(tmp_path) -> Path:
    """A small dataset to share, as a local folder."""
    return Path(write(make_example(size="tiny", seed=11), tmp_path / "nmc.zarr"))


@pytest.mark.network
def test_push_open_validate_remotely_and_pull_by_name(s3, local, tmp_path, capsys):
    url = "s3://shared/groups/nmc.zarr"
    assert main(["push", str(local), url, *_options(s3)]) == 0
    assert "every object verified" in capsys.readouterr().out

    remote = xr.open_datatree(url, engine="zarr", storage_options=s3)  # plain xarray
    original = xr.open_datatree(local, engine="zarr")
    xr.testing.assert_identical(remote["particle"].to_dataset(), original["particle"].to_dataset())
    assert remote.attrs["fusion"] == original.attrs["fusion"]
    report = validate(url, level="data", storage_options=s3)
    assert report.ok and not report.findings, str(report)
    assert main(["validate", url, "--level", "data", *_options(s3)]) == 0

    # publish as one zip object and list it in a registry; pull it by name
    archive = push(local, "s3://shared/releases/nmc-0.1.0.zip", storage_options=s3).archive
    registry = tmp_path / "registry.yaml"
    card = {"description": "shared test dataset", "format": "fusion/0.2", "license": "CC0-1.0"}
    entry = {"url": "s3://shared/releases/nmc-0.1.0.zip", "card": card}
    entry |= {"sha256": archive.sha256, "size": archive.size}
    document = {
        "registry": "fusion-registry/1",
        "datasets": {"nmc": {"versions": {"0.1.0": entry}}},
    }
    registry.write_text(yaml.safe_dump(document))
    argv = ["dataset:nmc", "--registry", str(registry), "--cache", str(tmp_path / "cache")]
    assert pull_main([*argv, *_options(s3)]) == 0
    pulled = Path(capsys.readouterr().out.splitlines()[-1])
    assert pulled.name == f"{archive.sha256}.zip"
    assert validate(pulled, level="data").ok
    tree = xr.open_datatree(zarr.storage.ZipStore(pulled, mode="r"), engine="zarr")
    np.testing.assert_array_equal(tree["particle"].phase.values, original["particle"].phase.values)

    # credentials and endpoint from the environment only, as a new process sees them
    env = {**os.environ, "AWS_ENDPOINT_URL": s3["endpoint_url"], "FUSION_OFFLINE": ""}
    argv[-1] = str(tmp_path / "cache-env")
    run = subprocess.run(
        [sys.executable, "-m", "fusion.registry", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.splitlines()[-1]).read_bytes() == pulled.read_bytes()


@pytest.mark.network
def test_the_fused_reference_recipe_is_pushed_opened_and_validated_on_s3(
    s3, small_reference_recipe, tmp_path, monkeypatch, capsys
):
    """What a group shares in practice: the reference recipe's output (SEM, SliceGAN particle
    with grains and spectra, XCT electrode, the super-resolved NMC XCT; 64³ particle), pushed to a bucket, is the same
    dataset through plain xarray there and validates there, every chunk against its manifest."""
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    fused = tmp_path / "fused.zarr"
    fuse(small_reference_recipe, fused, work=tmp_path / "work", device="cpu")
    url = "s3://shared/groups/nmc-fused.zarr"
    assert main(["push", str(fused), url, *_options(s3)]) == 0
    assert "every object verified" in capsys.readouterr().out

    remote = xr.open_datatree(url, engine="zarr", storage_options=s3)  # no fusion import needed
    original = xr.open_datatree(fused, engine="zarr")
    groups = {"electrode", "particle", "sem", "xct-nmc", "xct-nmc-fine"}
    assert set(remote.children) == set(original.children) == groups
    for name in original.children:
        xr.testing.assert_identical(remote[name].to_dataset(), original[name].to_dataset())
    assert remote.attrs == original.attrs  # provenance: every file and model with its digest
    assert remote["particle"].phase.shape == (64, 64, 64)

    report = validate(url, level="data", storage_options=s3)
    assert report.ok and not report.findings, str(report)
    bucket = _remote(s3)
    remote_manifests = {
        key.removeprefix("shared/groups/nmc-fused.zarr/")
        for key in bucket.find("shared/groups/nmc-fused.zarr")
        if key.endswith("/fusion_chunks.json")
    }
    local_manifests = {p.relative_to(fused).as_posix() for p in fused.rglob("fusion_chunks.json")}
    assert "particle/orientation/fusion_chunks.json" in local_manifests
    assert remote_manifests == local_manifests  # pushed with the data, checked by validate


@pytest.mark.parametrize(
    ("damage", "code", "named"),
    [
        (lambda fs, key: fs.pipe_file(key, b"not zstd"), "data.corrupt-chunk", "(expected"),
        (lambda fs, key: fs.rm_file(key), "data.missing-chunk", "(missing)"),
    ],
)
@pytest.mark.network
def test_a_damaged_remote_chunk_is_named_by_push_and_validate(
    s3, local, capsys, damage, code, named
):
    url = "s3://shared/damaged/nmc.zarr"
    push(local, url, storage_options=s3)
    damage(_remote(s3), "shared/damaged/nmc.zarr/particle/phase/c/0/0/0")

    assert main(["push", str(local), url, *_options(s3)]) == 1
    error = capsys.readouterr().err
    assert f"particle/phase/c/0/0/0 {named}" in error and "--overwrite" in error

    report = validate(url, level="data", storage_options=s3)
    finding = next(f for f in report.errors if f.code == code)
    assert finding.path == "/particle/phase" and "particle/phase/c/0/0/0" in finding.message
    assert main(["validate", url, "--level", "data", *_options(s3)]) == 1
    assert code in capsys.readouterr().out

    assert main(["push", str(local), url, "--overwrite", *_options(s3)]) == 0
    assert validate(url, level="data", storage_options=s3).ok


@pytest.mark.network
def test_an_interrupted_push_to_s3_is_incomplete_until_resumed(s3, local, capsys):
    url = "s3://shared/stopped/nmc.zarr"
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) > 3:
            raise ConnectionResetError("connection lost (simulated)")

    with pytest.raises(WriteError, match="marked incomplete"):
        push(local, url, storage_options=s3, progress=stop)
    assert main(["validate", url, *_options(s3)]) == 1
    assert "root.incomplete-write" in capsys.readouterr().out
    resumed = push(local, url, storage_options=s3)
    assert resumed.resumed and resumed.kept > 0
    assert main(["validate", url, "--level", "data", *_options(s3)]) == 0


@pytest.mark.network
def test_load_segment_and_generate_to_and_from_s3(s3, instruments, tmp_path, monkeypatch):
    from fusion.registry.testing import tiny_generator, tiny_segmenter, write_registry

    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    models = {
        "tiny": {"0.1.0": tiny_generator(tmp_path / "gen")},
        "tinyseg": {"0.1.0": tiny_segmenter(tmp_path / "seg")},
    }
    registry = str(write_registry(tmp_path / "registry.yaml", models=models))
    options = _options(s3)
    sem, seg, gen = "s3://shared/sem.zarr", "s3://shared/seg.zarr", "s3://shared/gen.zarr"
    image = instruments / "sem" / "test_tiff_Zeiss_SEM_1k.tif"
    assert main(["load", "sem", str(image), "-o", sem, *options]) == 0
    assert main(["segment", "model:tinyseg", sem, "-o", seg, "--tile", "256", "--device", "cpu",
                 "--registry", registry, *options]) == 0  # fmt: skip
    assert main(["generate", "model:tiny", "--shape", "5", "6", "7", "--device", "cpu",
                 "--registry", registry, "-o", gen, *options]) == 0  # fmt: skip
    for url in (sem, seg, gen):
        assert validate(url, level="data", storage_options=s3).ok, url
    labels = xr.open_datatree(seg, engine="zarr", storage_options=s3)["image"]["phase"]
    assert labels.attrs["origin"] == "inferred"
