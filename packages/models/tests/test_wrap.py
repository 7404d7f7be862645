"""Wrapping: a registered model's output becomes a conforming dataset."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.models import WrapRequest, wrap_outputs
from fusion.models.testing import tiny_generator
from fusion.registry import ModelCard, check_registry, installed_tasks
from fusion.registry.testing import tiny_card, write_registry
from fusion.schema import validate


def _request(probs: np.ndarray, seed: int = 3) -> WrapRequest:
    card = ModelCard.model_validate(tiny_card("t/tiny-test.npz", "0" * 64, 1, seed))
    z = np.zeros((1, 2, 5, 5, 5), np.float32)
    return WrapRequest(
        ref="model:tiny@0.1.0", sha256="ab" * 32, card=card, inputs={"z": z},
        outputs={"probs": probs}, seed=seed,
    )  # fmt: skip


def test_argmax_channel_becomes_a_conforming_generated_phase_map():
    rng = np.random.default_rng(0)
    probs = rng.random((1, 3, 3, 4, 5)).astype(np.float32)
    tree = wrap_outputs(_request(probs), execution={"device": "cpu"})
    report = validate(tree, level="data")
    assert report.ok, str(report)
    phase = tree["generated"].phase
    np.testing.assert_array_equal(phase.values, probs[0].argmax(axis=0))
    assert phase.attrs["origin"] == "generated"
    assert phase.attrs["flag_meanings"] == "pore NMC CBD"
    assert tree["generated"].to_dataset().fusion.voxel_size_um == (0.05, 0.05, 0.05)
    activity = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]
    assert activity["type"] == "generate"
    assert activity["parameters"]["seed"] == 3 and activity["parameters"]["device"] == "cpu"
    entity = tree.attrs["fusion"]["provenance"]["entities"]["model"]
    assert entity == {"type": "model", "ref": "model:tiny@0.1.0", "sha256": "ab" * 32}


def test_no_voxel_size_is_an_error_not_an_invention():
    request = _request(np.zeros((1, 3, 3, 3, 3), np.float32))
    request.card.channels[0].voxel_size_um = None
    with pytest.raises(ValueError, match="never invented"):
        wrap_outputs(request)


def test_registry_check_runs_the_installed_task_on_a_model_entry(tmp_path):
    assert {"generate-3d", "segment-2d"} <= set(installed_tasks())
    entry = tiny_generator(tmp_path / "tiny")
    registry = write_registry(tmp_path / "registry.yaml", models={"tiny": {"0.1.0": entry}})
    report = check_registry(registry)
    result = report.results[0]
    assert not result.failures, result.failures
    assert result.passed == ["hash", "card", "onnx", "test tensors", "output conforms"]
