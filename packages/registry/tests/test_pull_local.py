"""Pulling from a path relative to the registry: verification, the warm path, offline mode."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

import pytest
import yaml
from registry_helpers import dataset_version, make_blob, pull_command, write_registry

import fusion.registry._cache as cache_module
from fusion.registry import (
    Cache,
    HashMismatchError,
    OfflineError,
    SizeMismatchError,
    UnsafePathError,
    pull,
)
from fusion.registry._cli import pull_main

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def registry(blob, tmp_path):
    _path, digest, size = blob
    return write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={
            "demo": {"0.1.0": dataset_version("datasets/demo-0.1.0.zip", digest, size)},
            "remote": {"1.0.0": dataset_version("https://127.0.0.1:9/never.zip", "ef" * 32, 10)},
        },
    )


def test_pull_from_a_relative_path(registry, blob, cache):
    path = pull("dataset:demo", registry=registry, cache=cache)
    assert path == cache.root / "blobs" / f"{blob[1]}.zip"
    assert path.read_bytes() == blob[0].read_bytes()
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # read-only (root ignores modes)
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    assert list((cache.root / "tmp").iterdir()) == []


def test_a_warm_pull_does_not_rehash(registry, cache, monkeypatch):
    first = pull("dataset:demo@0.1.0", registry=registry, cache=cache)

    def no_hashing(*args, **kwargs):
        raise AssertionError("a warm pull hashed the blob again")

    monkeypatch.setattr(cache_module, "hash_file", no_hashing)
    monkeypatch.setattr(cache_module, "download", no_hashing)
    assert pull("dataset:demo", registry=registry, cache=cache) == first


def test_a_touched_blob_is_rehashed_once(registry, cache, monkeypatch):
    path = pull("dataset:demo", registry=registry, cache=cache)
    os.utime(path, ns=(0, 0))  # the stamp no longer matches
    calls = []
    real = cache_module.hash_file
    monkeypatch.setattr(cache_module, "hash_file", lambda p, *a: calls.append(p) or real(p, *a))
    assert pull("dataset:demo", registry=registry, cache=cache) == path
    assert pull("dataset:demo", registry=registry, cache=cache) == path
    assert calls == [path]


def test_hash_mismatch_deletes_the_download_and_shows_both_hashes(blob, tmp_path, cache):
    _path, digest, size = blob
    wrong = "0" * 64
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={"demo": {"0.1.0": dataset_version("datasets/demo-0.1.0.zip", wrong, size)}},
    )
    with pytest.raises(HashMismatchError) as info:
        pull("dataset:demo", registry=registry, cache=cache)
    message = str(info.value)
    assert f"expected sha256:{wrong}" in message and f"got sha256:{digest}" in message
    assert "dataset:demo@0.1.0" in message and "the download was deleted" in message
    assert isinstance(info.value, ValueError)
    assert list((cache.root / "tmp").iterdir()) == []
    assert list((cache.root / "blobs").iterdir()) == []


def test_size_mismatch_stops_the_download(blob, tmp_path, cache):
    _path, digest, _size = blob
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={"demo": {"0.1.0": dataset_version("datasets/demo-0.1.0.zip", digest, 1000)}},
    )
    with pytest.raises(SizeMismatchError, match="expected 1000 bytes, got more"):
        pull("dataset:demo", registry=registry, cache=cache)
    assert list((cache.root / "tmp").iterdir()) == []


def test_a_local_entry_without_sha256_is_hashed_and_cached(blob, tmp_path, cache):
    _path, digest, _ = blob
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={"demo": {"0.1.0": dataset_version("datasets/demo-0.1.0.zip", None, None)}},
    )
    assert pull("dataset:demo", registry=registry, cache=cache).name == f"{digest}.zip"


@pytest.mark.parametrize("how", ["env", "argument"])
def test_offline_serves_cached_blobs_and_refuses_missing_ones(how, tmp_path, cache, monkeypatch):
    _local, digest, size = make_blob(tmp_path / "reg" / "a.zip", 1000)
    never = "ef" * 32
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={
            "cached": {"1.0.0": dataset_version("a.zip", digest, size)},
            "remote": {"1.0.0": dataset_version("https://127.0.0.1:9/never.zip", never, 10)},
        },
    )
    online = pull("dataset:cached", registry=registry, cache=cache)
    offline = True if how == "argument" else None
    if how == "env":
        monkeypatch.setenv("FUSION_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("offline mode touched the network")

    monkeypatch.setattr("fsspec.core.url_to_fs", no_network)
    assert pull("dataset:cached", registry=registry, cache=cache, offline=offline) == online
    with pytest.raises(
        OfflineError,
        match=rf"dataset:remote@1.0.0 \(sha256:{never}\) is not in the cache .* offline mode is on",
    ) as info:
        pull("dataset:remote", registry=registry, cache=cache, offline=offline)
    assert isinstance(info.value, ConnectionError)


def test_a_symlink_in_the_cache_is_refused(registry, blob, tmp_path, cache):
    outside = tmp_path / "elsewhere.zip"
    outside.write_bytes(blob[0].read_bytes())
    (cache.root / "blobs").mkdir(parents=True)
    (cache.root / "blobs" / f"{blob[1]}.zip").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="is a link or not a regular file: refused"):
        pull("dataset:demo", registry=registry, cache=cache)


def test_a_cache_folder_linked_elsewhere_is_refused(registry, tmp_path, cache):
    (tmp_path / "elsewhere").mkdir()
    cache.root.mkdir()
    (cache.root / "blobs").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(UnsafePathError, match=r"is a link to .*outside the cache"):
        pull("dataset:demo", registry=registry, cache=cache)


def test_fusion_pull_prints_the_path_last(registry, blob, capsys):
    assert pull_main(["dataset:demo", "--registry", str(registry)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith(f"blobs/{blob[1]}.zip") and Path(out[-1]).is_file()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["dataset:nope"], 1, "dataset:nope is not in the registry"),
        (["nope"], 1, "is not a reference"),
        (["dataset:remote", "--offline"], 2, "offline mode is on"),
    ],
)
def test_fusion_pull_errors_are_one_line(registry, argv, code, message, capsys):
    assert pull_main([*argv, "--registry", str(registry)]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err
    assert captured.err.startswith("fusion-pull: error: ")


def test_the_default_registry_is_the_checkout(capsys):
    """`uv run fusion-pull dataset:nmc-demo` from the repository root."""
    assert pull_main(["dataset:nmc-demo"]) == 0
    path = Path(capsys.readouterr().out.splitlines()[-1])
    entry = yaml.safe_load((REPO / "registry.yaml").read_text())["datasets"]["nmc-demo"]
    pinned = entry["versions"][entry["latest"]]["sha256"]
    assert path.name == f"{pinned}.zip"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pinned
    assert str(path).startswith(os.environ["FUSION_CACHE"])


def test_cache_object_reports_cached_only_when_stamped(registry, blob, cache):
    assert cache.cached(blob[1], ".zip") is None
    pull("dataset:demo", registry=registry, cache=cache)
    assert cache.cached(blob[1], ".zip") == cache.blob_path(blob[1], ".zip")
    assert Cache(cache.root).cached(blob[1], "") is None


def test_progress_is_reported_while_copying(blob, registry, cache):
    calls = []
    pull("dataset:demo", registry=registry, cache=cache, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (blob[2], blob[2]) and len(calls) >= 1
    calls.clear()
    pull("dataset:demo", registry=registry, cache=cache, progress=lambda d, t: calls.append((d, t)))
    assert calls == []  # warm: nothing to report


def test_a_progress_bar_on_a_terminal(registry, tmp_path, subprocess_env):
    """stderr is a terminal (a pty): fusion-pull draws a bar there; stdout is still the path."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        pull_command("dataset:demo", "--registry", str(registry)),
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    drawn = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(master, 65536):
            drawn += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"\rpulling dataset:demo: " in drawn and b"100%" in drawn
    assert Path(out.decode().splitlines()[-1]).is_file()


def test_an_offline_miss_names_the_keyword_in_python_and_the_flag_in_fusion_pull(
    registry, tmp_path, capsys
):
    with pytest.raises(OfflineError) as caught:
        pull("dataset:remote", registry=registry, cache=Cache(tmp_path / "c"), offline=True)
    assert "(offline=True or FUSION_OFFLINE=1)" in str(caught.value)
    assert pull_main(["dataset:remote", "--offline", "--registry", str(registry)]) == 2
    err = capsys.readouterr().err
    assert "(--offline or FUSION_OFFLINE=1)" in err and "offline=True" not in err
