"""Pulls from servers on 127.0.0.1: HTTP (python's http.server in a subprocess) and S3 (moto in
server mode); a pull killed mid-transfer; eight processes pulling the same artifact at once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from registry_helpers import dataset_version, make_blob, pull_command, write_registry

from fusion.registry import OfflineError, TransferError, pull

pytestmark = pytest.mark.network


def serve(server, size: int, name: str = "demo.zip"):
    """An artifact in the server's folder and a registry beside it: (blob path, sha256, size)."""
    path, digest, size = make_blob(server.root / "datasets" / name, size)
    write_registry(
        server.root / "registry.yaml",
        datasets={"demo": {"0.1.0": dataset_version(f"datasets/{name}", digest, size)}},
    )
    return path, digest, size


def test_pull_from_an_http_server(http_server, cache):
    path, digest, _ = serve(http_server, 300_000)
    registry = f"{http_server.url}/registry.yaml"
    got = pull("dataset:demo", registry=registry, cache=cache)
    assert got.name == f"{digest}.zip" and got.read_bytes() == path.read_bytes()
    assert len(http_server.requests("GET", "/datasets/demo.zip")) == 1
    assert pull("dataset:demo@0.1.0", registry=registry, cache=cache) == got  # warm: no new GET
    assert len(http_server.requests("GET", "/datasets/demo.zip")) == 1

    http_server.stop()  # offline: the registry copy and the blob come from the cache
    assert pull("dataset:demo", registry=registry, cache=cache, offline=True) == got
    with pytest.raises(OfflineError, match="was never read online"):
        pull("dataset:demo", registry=f"{http_server.url}/other.yaml", cache=cache, offline=True)
    with pytest.raises(
        TransferError, match=r"cannot read http://127\.0\.0\.1:.*/registry\.yaml after 3 attempts"
    ):
        pull("dataset:demo", registry=registry, cache=cache)  # online, but the server is gone


def test_a_missing_file_is_not_retried(http_server, cache):
    serve(http_server, 1000)
    (http_server.root / "datasets" / "demo.zip").unlink()
    with pytest.raises(
        TransferError, match=r"cannot read http://.*/datasets/demo\.zip: FileNotFoundError"
    ):
        pull("dataset:demo", registry=f"{http_server.url}/registry.yaml", cache=cache)
    assert len(http_server.requests("GET", "/datasets/demo.zip")) == 1
    assert list((cache.root / "tmp").iterdir()) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_pull_from_an_s3_server(s3_server, tmp_path, cache, capsys):
    import s3fs

    options = {"endpoint_url": s3_server, "key": "testing", "secret": "testing"}
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    fs.mkdir("artifacts")
    local, digest, size = make_blob(tmp_path / "demo.zip", 200_000)
    fs.put_file(str(local), "artifacts/v1/demo.zip")
    registry = write_registry(
        tmp_path / "registry.yaml",
        datasets={"demo": {"0.1.0": dataset_version("demo.zip", digest, size)}},
    )
    fs.put_file(str(registry), "artifacts/v1/registry.yaml")  # relative to the registry on S3

    got = pull(
        "dataset:demo",
        registry="s3://artifacts/v1/registry.yaml",
        cache=cache,
        storage_options=options,
    )
    assert got.name == f"{digest}.zip" and got.read_bytes() == local.read_bytes()

    # the command line, with the registry on disk pointing at an s3:// URL
    write_registry(
        registry,
        datasets={"demo": {"0.1.0": dataset_version("s3://artifacts/v1/demo.zip", digest, size)}},
    )
    shutil.rmtree(cache.root)
    from fusion.registry._cli import pull_main

    argv = ["dataset:demo", "--registry", str(registry), "--cache", str(cache.root)]
    argv += [f"--storage-option={k}={v}" for k, v in options.items()]
    assert pull_main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(got)


def test_a_pull_killed_mid_transfer_leaves_no_blob(http_server, tmp_path, subprocess_env):
    path, digest, size = serve(http_server, 256 * 1024)
    slow = write_registry(
        tmp_path / "slow.yaml",
        datasets={
            "demo": {
                "0.1.0": dataset_version(f"{http_server.url}/slow/datasets/demo.zip", digest, size)
            }
        },
    )
    cache = Path(subprocess_env["FUSION_CACHE"])
    proc = subprocess.Popen(
        pull_command("dataset:demo", "--registry", str(slow)),
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        partial = _wait_for_partial(cache / "tmp", min_bytes=16 * 1024, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < partial.stat().st_size < size  # killed mid-transfer
    assert list((cache / "blobs").iterdir()) == []  # no blob, only the temporary file
    assert [p.name for p in (cache / "tmp").iterdir()] == [partial.name]

    got = pull("dataset:demo", registry=http_server.root / "registry.yaml", cache=cache)
    assert got.read_bytes() == path.read_bytes()
    assert list((cache / "tmp").iterdir()) == []  # the dead process's temporary file is gone


def _wait_for_partial(folder: Path, min_bytes: int, timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in folder.glob("*.part") if folder.exists() else []:
            if p.stat().st_size >= min_bytes:
                return p
        time.sleep(0.02)
    raise AssertionError(f"no partial download in {folder} after {timeout} s")


def test_eight_processes_download_once(http_server, tmp_path, subprocess_env):
    _, digest, size = serve(http_server, 96 * 1024)
    slow = write_registry(
        tmp_path / "slow.yaml",
        datasets={
            "demo": {
                "0.1.0": dataset_version(f"{http_server.url}/slow/datasets/demo.zip", digest, size)
            }
        },
    )
    procs = [
        subprocess.Popen(
            pull_command("dataset:demo", "--registry", str(slow)),
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    paths = {out.splitlines()[-1] for out, _ in results}
    cache = Path(subprocess_env["FUSION_CACHE"])
    assert paths == {str(cache / "blobs" / f"{digest}.zip")}
    assert len(http_server.requests("GET", "/slow/datasets/demo.zip")) == 1
    assert os.listdir(cache / "tmp") == []
