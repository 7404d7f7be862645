"""`fusion registry check`: each failure names the entry and the reason."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from registry_helpers import sha, tiny_generator

from fusion.cli import main as fusion_main
from fusion.registry import Cache, check_registry

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
    drift = tensors("drift.npz", probs=npz["probs"] + 0.01)
    shape = tensors("shape.npz", probs=npz["probs"][:, :, 1:])
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
                    "1.4.0": model(card=lambda c: c.update(task="dance")),
                    "1.5.0": model(card=lambda c: c["channels"][0].update(units="micron")),
                    "1.6.0": model(card=lambda c: c["test_tensors"].update(drift)),
                    "1.7.0": model(card=lambda c: c["test_tensors"].update(seed=8)),
                    "1.8.0": model(card=lambda c: c["test_tensors"].update(shape)),
                    "1.9.0": model(card=lambda c: c["inputs"][0].update(dtype="float64")),
                    "2.0.0": model(
                        card=lambda c: c["channels"][0].update(flag_meanings="pore NMC")
                    ),
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
def report(registry, tmp_path_factory):
    cache = Cache(tmp_path_factory.mktemp("cache"))
    return check_registry(
        str(registry),
        cache=cache,
        runtimes={},
        dataset_level="metadata",
        outputs_dir=str(tmp_path_factory.mktemp("outputs")),
    )


def result(report, entry):
    (found,) = [r for r in report.results if r.entry == entry]
    return found


def test_the_good_model_passes_and_says_the_runtime_step_was_skipped(report):
    good = result(report, "model:tiny@1.0.0")
    assert good.ok, good.failures
    assert good.passed == ["hash", "card", "onnx", "test tensors"]
    assert good.skipped == [
        "runtime: skipped: no runtime installed (entry-point group fusion.runtimes)"
    ]
    assert result(report, "dataset:nmc@0.1.0").passed == ["hash", "format fusion/0.1 (metadata)"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (
            "model:tiny@1.1.0",
            "wrong hash: expected sha256:0000000000000000000000000000000000000000000000000000000000000000, got sha256:",
        ),
        ("model:tiny@1.2.0", "wrong size: expected "),
        ("model:tiny@1.3.0", "bad ONNX: "),
        ("model:tiny@1.4.0", "card invalid: card.task: Input should be 'generate-2d', "),
        (
            "model:tiny@1.5.0",
            "card invalid: channels[0] (phase).units: unit 'micron' is not in the vocabulary; write 'um'",
        ),
        (
            "model:tiny@2.0.0",
            "card invalid: channels[0] (phase).flags: expected one flag_meanings word per flag_values entry",
        ),
        ("model:tiny@1.6.0", "test tensors not reproduced: output 'probs': "),
        (
            "model:tiny@1.7.0",
            "test tensors do not fit the card: 'z' is not what seed 8 draws (standard-normal, numpy-pcg64)",
        ),
        ("model:tiny@1.8.0", "test tensors do not fit the card: probs.z is 2, the card says 3"),
        (
            "model:tiny@1.9.0",
            "ONNX does not match the card: input 'z' is tensor(float) in ONNX, float64 in the card",
        ),
    ],
)
def test_each_failure_names_the_entry_and_the_reason(report, entry, reason):
    found = result(report, entry)
    assert any(f.startswith(reason) for f in found.failures), found.failures
    assert f"FAILED  {entry}" in str(report) and f"  failed  {entry}: {reason}" in str(report)


def test_produced_outputs_are_kept_for_diagnosis(report):
    (failure,) = result(report, "model:tiny@1.6.0").failures
    saved = failure.rsplit("outputs saved to ", 1)[1].rstrip(")")
    assert np.load(saved)["probs"].shape == (1, 3, 3, 3, 3)
    assert "81 of 81 elements (1000000 ppm) differ" in failure and "max |Δ| = 0.01 at" in failure


def test_the_report_counts_and_exits_1(report):
    assert not report.ok and report.exit_code == 1
    assert str(report).splitlines()[-1].endswith(": 12 checked, 10 failed")


def test_a_runtime_hook_wraps_the_output_and_it_is_validated(registry, tmp_path):
    from fusion.schema import make_example

    seen = []

    def good_runtime(request):
        seen.append(request)
        return make_example(size="tiny")

    def broken_runtime(request):
        tree = make_example(size="tiny")
        del tree["particle"].phase.attrs["units"]
        return tree

    text = registry.read_text()
    only_good = tmp_path / "registry.yaml"
    doc = yaml.safe_load(text)
    doc["models"]["tiny"]["versions"] = {"1.0.0": doc["models"]["tiny"]["versions"]["1.0.0"]}
    doc["datasets"] = {}
    only_good.write_text(yaml.safe_dump(doc))
    shutil.copytree(registry.parent / "models", tmp_path / "models")
    report = check_registry(
        str(only_good),
        cache=Cache(tmp_path / "c"),
        runtimes={"good": good_runtime, "broken": broken_runtime},
    )
    (r,) = report.results
    assert "runtime good" in r.passed and r.skipped == []
    assert len(r.failures) == 1 and r.failures[0].startswith(
        "output wrapped by runtime 'broken' does not conform: error"
    )
    assert seen[0].ref == "model:tiny@1.0.0" and seen[0].seed == 7
    assert set(seen[0].outputs) == {"probs"} and seen[0].outputs["probs"].shape == (1, 3, 3, 3, 3)


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
