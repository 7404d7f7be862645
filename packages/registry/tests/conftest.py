"""Fixtures: an isolated cache and environment, artifacts, and a file server on 127.0.0.1."""

from __future__ import annotations

import os

import pytest
from registry_helpers import FileServer, make_blob

from fusion.registry import Cache


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the user's registry, cache or offline setting."""
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FUSION_REGISTRY", raising=False)
    monkeypatch.delenv("FUSION_OFFLINE", raising=False)
    monkeypatch.delenv("FUSION_DEBUG", raising=False)


@pytest.fixture
def cache(tmp_path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def blob(tmp_path):
    """A 256 KiB artifact in a registry folder: (path, sha256, size)."""
    return make_blob(tmp_path / "reg" / "datasets" / "demo-0.1.0.zip", 256 * 1024)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    server = FileServer(root, tmp_path / "requests.log")
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def subprocess_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUSION_")}
    env["FUSION_CACHE"] = str(tmp_path / "cache")
    return env
