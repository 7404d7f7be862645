"""Fixtures: a registry of test-sized models, and a clean model cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.registry.testing import (
    tiny_model_registry,
)


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    return tiny_model_registry(root, generator="tiny-gen", segmenter="tiny-seg")


@pytest.fixture
def env(tmp_path, monkeypatch, tiny_registry):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FUSION_REGISTRY", str(tiny_registry))
    return tmp_path
