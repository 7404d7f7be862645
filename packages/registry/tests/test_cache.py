"""`fusion cache verify` and `prune`, stale temporary files, and a lock that does not work."""

from __future__ import annotations

import contextlib
import os
import threading

import pytest
from registry_helpers import dataset_version, make_blob, write_registry

from fusion.cli import main as fusion_main
from fusion.registry import Cache, load_registry, pull


@pytest.fixture
def two(tmp_path):
    """A registry of two datasets, both pulled: (registry path, [blob paths])."""
    a = make_blob(tmp_path / "reg" / "a.zip", 5000, seed=1)
    b = make_blob(tmp_path / "reg" / "b.zip", 7000, seed=2)
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={
            "a": {"1.0.0": dataset_version("a.zip", a[1], a[2])},
            "b": {"1.0.0": dataset_version("b.zip", b[1], b[2])},
        },
    )
    return registry, [pull(f"dataset:{n}", registry=registry) for n in "ab"]


def corrupt(path):
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # bit rot: same size and mtime


def test_verify_detects_a_corrupted_blob_and_the_next_pull_repairs_it(two, cache):
    registry, (a, b) = two
    corrupt(a)
    assert pull("dataset:a", registry=registry) == a  # the stamp still matches: not re-hashed
    results = {r.path: r for r in cache.verify()}
    assert results[b].status == "ok"
    assert results[a].status == "corrupted" and results[a].got != results[a].sha256
    assert pull("dataset:a", registry=registry) == a  # re-hashed, deleted, copied again
    assert {r.status for r in cache.verify()} == {"ok"}


def test_cache_verify_command(two, capsys):
    _, (a, _) = two
    assert fusion_main(["cache", "verify"]) == 0
    corrupt(a)
    assert fusion_main(["cache", "verify", "--delete"]) == 1
    out = capsys.readouterr().out
    assert f"corrupted {a}: expected sha256:{a.name[:64]}, got sha256:" in out and "deleted" in out
    assert "2 blob(s) verified, 1 bad" in out
    assert not a.exists()


def test_prune_removes_what_the_registry_does_not_reference(two, tmp_path, cache, capsys):
    registry, (a, b) = two
    only_a = write_registry(
        tmp_path / "only-a.yaml",
        datasets={"a": {"1.0.0": dataset_version("reg/a.zip", a.name[:64], a.stat().st_size)}},
    )
    dead = cache.tmp / f"{a.name[:64]}.{_host()}.999999999.abcd1234.part"  # a dead process's
    dead.write_bytes(b"partial")
    live = cache.tmp / f"{a.name[:64]}.{_host()}.{os.getpid()}.abcd1234.part"  # ours: kept
    live.write_bytes(b"partial")
    assert fusion_main(["cache", "prune", "--registry", str(only_a), "--dry-run"]) == 0
    assert b.exists()
    assert fusion_main(["cache", "prune", "--registry", str(only_a)]) == 0
    out = capsys.readouterr().out
    assert f"removed {b}" in out and f"removed {dead}" in out
    assert a.exists() and not b.exists() and not dead.exists() and live.exists()
    assert not (cache.stamps / f"{b.name}.json").exists()
    assert load_registry(registry).digests() >= {a.name[:64]}


def _host():
    from fusion.registry._cache import _HOST

    return _HOST


def test_a_lock_that_does_not_lock_costs_bandwidth_not_correctness(tmp_path, cache, monkeypatch):
    """Lustre/NFS where flock is a no-op: every thread downloads, and the cache stays right."""
    path, digest, size = make_blob(tmp_path / "reg" / "a.zip", 300_000)
    registry = write_registry(
        tmp_path / "reg" / "registry.yaml",
        datasets={"a": {"1.0.0": dataset_version("a.zip", digest, size)}},
    )
    monkeypatch.setattr(Cache, "_lock", lambda self, sha, timeout: contextlib.nullcontext())
    loaded = load_registry(registry)
    results, errors = [], []

    def worker():
        try:
            results.append(pull("dataset:a", registry=loaded, cache=Cache(cache.root)))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    assert results[0].read_bytes() == path.read_bytes()
    assert list(cache.tmp.iterdir()) == []


def test_registry_list(two, capsys):
    registry, _ = two
    assert fusion_main(["registry", "list", "--registry", str(registry)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("dataset:a@1.0.0") and "latest" in out[0] and "cached" in out[0]
    assert out[-1].endswith("2 entries")
