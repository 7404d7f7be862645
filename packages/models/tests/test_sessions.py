"""Tasks carry a `ModelFile`, never a session: it pickles, opens once per process, and refuses a
file that is missing or not the one the registry names where the task runs."""

from __future__ import annotations

import pickle
import shutil

import cloudpickle
import dask
import numpy as np
import pytest
from dask.array.core import concatenate3

from fusion.models import generate, segment
from fusion.models._sessions import ModelFile, ModelFileError
from fusion.models.testing import tiny_model_registry
from fusion.registry import load_registry
from fusion.schema.testing import grey_image_tree


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    return tiny_model_registry(tmp_path, generator="tiny", segmenter="tinyseg")


def model_file(registry, name="tiny", **changes) -> ModelFile:
    entry = load_registry(registry).registry.models[name].versions["0.1.0"]
    fields = {"ref": f"model:{name}@0.1.0", "path": str(registry.parent / entry.url),
              "sha256": entry.sha256, "device": "cpu", **changes}  # fmt: skip
    return ModelFile(**fields)


def test_a_model_file_pickles_and_opens_once_per_process(registry):
    model = model_file(registry, threads=1)
    again = pickle.loads(pickle.dumps(model))
    assert again == model and hash(again) == hash(model)
    assert model.session() is again.session()  # one session per process and model
    assert model.session().threads == 1
    assert model_file(registry).session() is not model.session()  # every-core: another one


def test_a_missing_or_different_file_is_named_with_the_model(registry, tmp_path):
    missing = model_file(registry, path=str(tmp_path / "elsewhere" / "tiny.onnx"))
    with pytest.raises(ModelFileError, match=r"elsewhere/tiny\.onnx: the ONNX file of model:tiny"):
        missing.session()
    other = tmp_path / "other.onnx"
    shutil.copy(model_file(registry, "tinyseg").path, other)
    with pytest.raises(ModelFileError, match=r"expected the ONNX file of model:tiny@0.1.0 with"):
        model_file(registry, path=str(other)).session()


def test_generation_and_segmentation_graphs_pickle_for_workers(registry):
    """What a dask.distributed client sends to its workers: every task, by cloudpickle."""
    volume = generate("model:tiny", (6, 6, 6), seed=1, registry=registry, device="cpu", tile=4)
    stack = np.random.default_rng(0).integers(0, 4000, (2, 32, 48), dtype=np.uint16)
    labelled = segment(grey_image_tree(stack, 0.01), "model:tinyseg", registry=registry,
                       device="cpu", tile=32, overlap=16)  # fmt: skip
    for array in (volume["generated"].phase.data, labelled["image"].phase.data):
        sent = cloudpickle.loads(cloudpickle.dumps(dict(array.__dask_graph__())))
        blocks = dask.get(sent, array.__dask_keys__())  # the unpickled tasks, run here
        np.testing.assert_array_equal(concatenate3(blocks), array.compute())
