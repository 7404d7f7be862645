"""`fusion registry check`: each failure names the entry and the reason; the registry's own
checks (hash, size, card) here, a model's task through a stand-in task (the ONNX tasks'
checks are tested in fusion-models)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from registry_helpers import sha, tiny_generator

from fusion.cli import main as fusion_main
from fusion.registry import Cache, Task, check_registry


class RecordingTask(Task):
    """A stand-in ``generate-3d`` task: records each request, passes ``recorded``, and has one
    card rule (a card whose description says ``no-go`` breaks it)."""

    name = "generate-3d"

    def __init__(self):
        self.requests = []

    def card_problems(self, card):
        return ["this task refuses no-go cards"] if "no-go" in card.description else []

    def check(self, request, result):
        self.requests.append(request)
        if request.ref.endswith("@3.1.0"):
            raise RuntimeError("boom")
        result.passed.append("recorded")


REPO = Path(__file__).resolve().parents[3]


def variant(folder: Path, name: str, data: bytes) -> tuple[str, str, int]:
    path = folder / name
    path.write_bytes(data)
    return f"models/{name}", sha(path), len(data)


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """One registry with a good model and one broken variant per failure, and a dataset."""
    root = tmp_path_factory.mktemp("reg")
    models = root / "models"
    good = tiny_generator(models)
    npz = dict(np.load(models / "tiny-test.npz"))

    def model(**changes):
        entry = copy.deepcopy(good)
        for key, value in changes.items():
            if key == "card":
                value(entry["card"])
            else:
                entry[key] = value
        return entry

    def tensors(name, **arrays):
        path = models / name
        np.savez(path, **{**npz, **arrays})
        return {"url": f"models/{name}", "sha256": sha(path), "size": path.stat().st_size}

    url, digest, size = variant(models, "garbage.onnx", b"not an onnx file" * 10)
    lost = {"url": "models/lost.npz", "sha256": "0" * 64, "size": 10}
    shutil.copy(REPO / "datasets" / "nmc-demo-0.1.0.zip", root / "nmc.zip")
    doc = {
        "registry": "fusion-registry/1",
        "models": {
            "tiny": {
                "latest": "1.0.0",
                "versions": {
                    "1.0.0": good,
                    "1.1.0": model(sha256="0" * 64),
                    "1.2.0": model(size=good["size"] + 1),
                    "1.3.0": model(url=url, sha256=digest, size=size),
                    "1.6.0": model(card=lambda c: c["test_tensors"].update(lost)),
                    "1.4.0": model(card=lambda c: c.update(task="Dance!")),
                    "1.5.0": model(card=lambda c: c["channels"][0].update(units="micron")),
                    "2.0.0": model(
                        card=lambda c: c["channels"][0].update(flag_meanings="pore NMC")
                    ),
                    "3.0.0": model(card=lambda c: c.update(task="dance-2d")),
                    "3.1.0": model(),
                    "3.2.0": model(card=lambda c: c.update(description="a no-go card")),
                },
            },
        },
        "datasets": {
            "nmc": {
                "versions": {
                    "0.1.0": {
                        "url": "nmc.zip",
                        "sha256": sha(root / "nmc.zip"),
                        "size": (root / "nmc.zip").stat().st_size,
                        "card": {
                            "description": "demo",
                            "format": "fusion/0.1",
                            "license": "CC0-1.0",
                        },
                    }
                }
            }
        },
    }
    path = root / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def task():
    return RecordingTask()


@pytest.fixture(scope="module")
def report(registry, task, tmp_path_factory):
    cache = Cache(tmp_path_factory.mktemp("cache"))
    return check_registry(
        str(registry),
        cache=cache,
        tasks={"generate-3d": task},
        dataset_level="metadata",
        outputs_dir="outputs-dir",
    )


def result(report, entry):
    (found,) = [r for r in report.results if r.entry == entry]
    return found


def test_the_good_model_passes_the_registry_checks_and_its_tasks(report, task):
    good = result(report, "model:tiny@1.0.0")
    assert good.ok, good.failures
    assert good.passed == ["hash", "card", "recorded"] and good.skipped == []
    (request,) = [r for r in task.requests if r.ref == "model:tiny@1.0.0"]
    assert request.artifact.suffix == ".onnx"
    assert request.sha256.removeprefix("sha256:") == sha(request.artifact)
    assert sorted(np.load(request.test_tensors)) == ["probs", "z"]
    assert request.card.task == "generate-3d"
    assert request.outputs_dir == "outputs-dir"
    assert result(report, "dataset:nmc@0.1.0").passed == ["hash", "format fusion/0.1 (metadata)"]


def test_a_card_whose_task_is_not_installed_is_skipped_naming_the_installed_ones(report):
    found = result(report, "model:tiny@3.0.0")
    assert found.ok and found.passed == ["hash", "card"]
    assert found.skipped == [
        "task: skipped: no task 'dance-2d' installed "
        "(entry-point group fusion.tasks; installed: generate-3d)"
    ]


def test_the_task_runs_only_where_the_file_is_verified_and_its_card_rules_hold(report, task):
    ran = {r.ref.removeprefix("model:tiny@") for r in task.requests}
    assert ran == {"1.0.0", "1.3.0", "1.5.0", "2.0.0", "3.1.0"}
    assert result(report, "model:tiny@1.3.0").passed == ["hash", "card", "recorded"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (
            "model:tiny@1.1.0",
            "wrong hash: expected sha256:0000000000000000000000000000000000000000000000000000000000000000, got sha256:",
        ),
        ("model:tiny@1.2.0", "wrong size: expected "),
        ("model:tiny@1.4.0", "card invalid: card.task: String should match pattern "),
        (
            "model:tiny@1.5.0",
            "card invalid: channels[0] (phase).units: unit 'micron' is not in the vocabulary; write 'um'",
        ),
        (
            "model:tiny@2.0.0",
            "card invalid: channels[0] (phase).flags: expected one flag_meanings word per flag_values entry",
        ),
        ("model:tiny@1.6.0", "test tensors unreadable: "),
        ("model:tiny@3.1.0", "task 'generate-3d' failed: RuntimeError: boom"),
        ("model:tiny@3.2.0", "card invalid: this task refuses no-go cards"),
    ],
)
def test_each_failure_names_the_entry_and_the_reason(report, entry, reason):
    found = result(report, entry)
    assert any(f.startswith(reason) for f in found.failures), found.failures
    assert f"FAILED  {entry}" in str(report) and f"  failed  {entry}: {reason}" in str(report)


def test_the_report_counts_and_exits_1(report):
    assert not report.ok and report.exit_code == 1
    assert str(report).splitlines()[-1].endswith(": 12 checked, 8 failed")


def test_the_installed_tasks_are_the_default(registry, tmp_path, monkeypatch):
    import fusion.registry._check as check

    seen = RecordingTask()
    monkeypatch.setattr(check, "installed_tasks", lambda: {"generate-3d": seen})
    doc = yaml.safe_load(registry.read_text())
    doc["models"]["tiny"]["versions"] = {"1.0.0": doc["models"]["tiny"]["versions"]["1.0.0"]}
    doc["datasets"] = {}
    only_good = tmp_path / "registry.yaml"
    only_good.write_text(yaml.safe_dump(doc))
    shutil.copytree(registry.parent / "models", tmp_path / "models")
    (r,) = check_registry(str(only_good), cache=Cache(tmp_path / "c")).results
    assert r.passed == ["hash", "card", "recorded"]
    assert [q.ref for q in seen.requests] == ["model:tiny@1.0.0"]


def test_the_repository_registry_passes(capsys):
    """What CI runs over the repository's registry.yaml."""
    assert fusion_main(["registry", "check"]) == 0
    out = capsys.readouterr().out
    assert "ok      dataset:nmc-demo@0.1.0 (hash, format fusion/0.1 (data))" in out


def test_an_unreadable_registry_is_one_failure(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("registry: !!python/object/apply:os.system ['true']\n")
    report = check_registry(str(bad), cache=Cache(tmp_path / "c"))
    assert [r.entry for r in report.results] == [
        "registry"
    ] and "safe loading only" in report.results[0].failures[0]
