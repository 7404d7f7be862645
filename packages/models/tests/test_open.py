"""`resolve_model` / `open_model`: the one place a model reference is resolved and pulled."""

from __future__ import annotations

import pickle

import pytest

from fusion.models import ModelFile, OpenedModel, open_model, resolve_model
from fusion.models.testing import tiny_model_registry
from fusion.registry import NotInRegistryError, load_registry
from fusion.registry.testing import sha


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    return tiny_model_registry(tmp_path / "reg")


def test_resolving_downloads_nothing_and_names_the_version(registry, tmp_path):
    model = resolve_model("model:tiny", registry=registry)
    assert model.ref == "model:tiny@0.1.0" and model.card.task == "generate-3d"
    assert model.sha256.removeprefix("sha256:") == sha(tmp_path / "reg" / "gen" / "tiny.onnx")
    assert not (tmp_path / "cache").exists()
    again = resolve_model("model:tiny@0.1.0", registry=load_registry(registry))
    assert (again.ref, again.sha256) == (model.ref, model.sha256)


def test_opening_pulls_the_verified_file_and_opens_a_session_on_demand(registry, tmp_path):
    opened = open_model("model:tinyseg", "cpu", registry=registry)
    assert isinstance(opened, OpenedModel) and opened.ref == "model:tinyseg@0.1.0"
    file = pickle.loads(pickle.dumps(opened.file))
    assert isinstance(file, ModelFile) and file == opened.file and file.device == "cpu"
    assert str(tmp_path / "cache") in file.path and file.sha256 == opened.sha256
    assert file.threads is None  # every core: no dask.distributed client
    assert opened.session().provenance()["device"] == "cpu"


def test_an_unknown_model_is_refused_before_any_download(registry, tmp_path):
    with pytest.raises(NotInRegistryError):
        open_model("model:nope", registry=registry)
    assert not (tmp_path / "cache").exists()
