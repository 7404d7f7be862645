"""The model tasks: their card rules and the `fusion registry check` steps they run."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fusion.models.tasks import Generate3D, Segment2D
from fusion.models.testing import tiny_generator, tiny_segmenter
from fusion.registry import Cache, ModelCard, check_registry, installed_tasks
from fusion.registry.testing import sha, tiny_card, write_registry


def test_the_tasks_are_installed_under_their_card_task():
    tasks = installed_tasks()
    assert isinstance(tasks["generate-3d"], Generate3D)
    assert isinstance(tasks["segment-2d"], Segment2D)


def card(change) -> ModelCard:
    """The tiny generator's card, changed."""
    data = copy.deepcopy(tiny_card("models/t.npz", "ab" * 32, 10, seed=7))
    change(data)
    return ModelCard.model_validate(data)


@pytest.mark.parametrize(
    ("task", "change", "message"),
    [
        (Generate3D(), lambda c: c.pop("latent"), "is a generator: `latent` is required"),
        (Segment2D(), lambda c: c.update(task="segment-2d"), "is not a generator: remove `latent`"),
        (Generate3D(), lambda c: c["test_tensors"].pop("seed"), "need the `seed`"),
        (Generate3D(), lambda c: c["channels"][0].pop("voxel_size_um"), "need voxel_size_um"),
    ],
)
def test_each_task_holds_its_card_rules(task, change, message):
    problems = task.card_problems(card(change))
    assert len(problems) == 1 and message in problems[0], problems


def test_the_tiny_cards_pass_their_tasks_rules(tmp_path):
    assert Generate3D().card_problems(card(lambda c: None)) == []
    entry = tiny_segmenter(tmp_path / "seg")
    assert Segment2D().card_problems(ModelCard.model_validate(entry["card"])) == []


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A good tiny generator and one broken variant per failure of the ONNX tasks' checks."""
    root = tmp_path_factory.mktemp("reg")
    models = root / "models"
    good = tiny_generator(models)
    npz = dict(np.load(models / "tiny-test.npz"))

    def model(change=None, **fields):
        entry = copy.deepcopy(good)
        entry.update(fields)
        if change is not None:
            change(entry["card"])
        return entry

    def tensors(name, **arrays):
        path = models / name
        np.savez(path, **{**npz, **arrays})
        return {"url": f"models/{name}", "sha256": sha(path), "size": path.stat().st_size}

    garbage = models / "garbage.onnx"
    garbage.write_bytes(b"not an onnx file" * 10)
    drift = tensors("drift.npz", probs=npz["probs"] + 0.01)
    shape = tensors("shape.npz", probs=npz["probs"][:, :, 1:])
    versions = {
        "1.0.0": good,
        "1.3.0": model(url="models/garbage.onnx", sha256=sha(garbage), size=160),
        "1.6.0": model(lambda c: c["test_tensors"].update(drift)),
        "1.7.0": model(lambda c: c["test_tensors"].update(seed=8)),
        "1.8.0": model(lambda c: c["test_tensors"].update(shape)),
        "1.9.0": model(lambda c: c["inputs"][0].update(dtype="float64")),
        "2.1.0": model(lambda c: c.pop("latent")),
    }
    registry = write_registry(root / "registry.yaml", models={"tiny": versions})
    return check_registry(
        registry,
        cache=Cache(tmp_path_factory.mktemp("cache")),
        outputs_dir=str(tmp_path_factory.mktemp("outputs")),
    )


def result(report, version):
    (found,) = [r for r in report.results if r.entry == f"model:tiny@{version}"]
    return found


def test_the_good_generator_passes_every_step(report):
    good = result(report, "1.0.0")
    assert good.passed == ["hash", "card", "onnx", "test tensors", "output conforms"]
    assert good.failures == [] and good.skipped == []


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("1.3.0", "bad ONNX: "),
        ("1.6.0", "test tensors not reproduced: output 'probs': "),
        (
            "1.7.0",
            "test tensors do not fit the card: 'z' is not what seed 8 draws (standard-normal, numpy-pcg64)",
        ),
        ("1.8.0", "test tensors do not fit the card: probs.z is 2, the card says 3"),
        (
            "1.9.0",
            "ONNX does not match the card: input 'z' is tensor(float) in ONNX, float64 in the card",
        ),
        ("2.1.0", "card invalid: task generate-3d is a generator: `latent` is required"),
    ],
)
def test_each_failure_names_the_entry_and_the_reason(report, version, reason):
    found = result(report, version)
    assert any(f.startswith(reason) for f in found.failures), found.failures
    entry = f"model:tiny@{version}"
    assert f"FAILED  {entry}" in str(report) and f"  failed  {entry}: {reason}" in str(report)


def test_produced_outputs_are_kept_for_diagnosis(report):
    (failure,) = result(report, "1.6.0").failures
    saved = failure.rsplit("outputs saved to ", 1)[1].rstrip(")")
    assert np.load(saved)["probs"].shape == (1, 3, 3, 3, 3)
    assert "81 of 81 elements (1000000 ppm) differ" in failure and "max |Δ| = 0.01 at" in failure


def test_a_segmenter_entry_passes_every_step(tmp_path):
    registry = write_registry(
        tmp_path / "registry.yaml", models={"seg": {"0.1.0": tiny_segmenter(tmp_path / "seg")}}
    )
    (found,) = check_registry(registry, cache=Cache(tmp_path / "cache")).results
    assert found.passed == ["hash", "card", "onnx", "test tensors", "output conforms"]
