"""fusion-registry/2: the index, its card files (verified, read lazily, cached for offline use),
the /1 → /2 upgrade, and registering a version as a library call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from registry_helpers import dataset_card, dataset_version, make_blob, write_registry

from fusion.registry import (
    Cache,
    CardFileError,
    HashMismatchError,
    RegistryFileError,
    RegistryIndex,
    SizeMismatchError,
    UnsafePathError,
    check_registry,
    hash_file,
    load_registry,
    parse_registry,
    pull,
    register_dataset,
    register_model,
    upgrade_registry,
)
from fusion.registry.testing import tiny_generator

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def v1(tmp_path) -> Path:
    """A fusion-registry/1 file with two dataset versions and a model, cards inline."""
    root = tmp_path / "reg"
    versions = {}
    for i, version in enumerate(["0.1.0", "0.2.0"]):
        _, digest, size = make_blob(root / "datasets" / f"demo-{version}.zip", 1000 + i, seed=i)
        versions[version] = dataset_version(f"datasets/demo-{version}.zip", digest, size)
        versions[version]["card"]["description"] = f"demo {version}"  # cards differ in bytes
    model = tiny_generator(root / "models" / "tiny")
    model["url"] = "models/tiny/tiny.onnx"
    model["card"]["test_tensors"]["url"] = "models/tiny/tiny-test.npz"
    return write_registry(
        root / "registry.yaml", datasets={"demo": versions}, models={"tiny": {"1.0.0": model}}
    )


def test_upgrade_writes_one_card_file_per_version_with_the_same_card(v1):
    before = load_registry(v1).registry
    written = upgrade_registry(v1)
    root = v1.parent
    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        "datasets/demo-0.1.0.card.yaml",
        "datasets/demo-0.2.0.card.yaml",
        "models/tiny/1.0.0/card.yaml",
    ]
    index = parse_registry(v1.read_text(), str(v1))
    assert isinstance(index, RegistryIndex) and index.registry == "fusion-registry/2"
    card = index.datasets["demo"].versions["0.1.0"].card
    path = root / card.url
    assert (card.sha256, card.size) == (hash_file(path), path.stat().st_size)
    assert load_registry(v1).registry == before  # every card, field for field
    assert "card:\n          description" not in v1.read_text()
    assert upgrade_registry(v1) == []  # a /2 file is left as it is


def test_a_pull_reads_no_card_and_an_entry_reads_only_its_own(v1, cache):
    upgrade_registry(v1)
    root = v1.parent
    (root / "datasets" / "demo-0.1.0.card.yaml").unlink()
    (root / "models" / "tiny" / "1.0.0" / "card.yaml").unlink()
    assert pull("dataset:demo@0.1.0", registry=v1, cache=cache).exists()
    loaded = load_registry(v1, cache=cache)
    assert loaded.resolve("dataset:demo@0.2.0").entry.card.description == "demo 0.2.0"
    with pytest.raises(CardFileError, match=r"dataset:demo@0.1.0: the card file .*demo-0.1.0"):
        _ = loaded.resolve("dataset:demo@0.1.0").entry


def test_a_changed_card_file_is_a_hash_mismatch_naming_the_file(v1, cache):
    upgrade_registry(v1)
    card = v1.parent / "datasets" / "demo-0.2.0.card.yaml"
    pinned = hash_file(card)
    card.write_text(card.read_text().replace("demo 0.2.0", "demo 0.2.1"))
    with pytest.raises(HashMismatchError) as info:
        _ = load_registry(v1, cache=cache).resolve("dataset:demo").entry
    assert str(card) in str(info.value) and "card file" in str(info.value)
    assert info.value.expected == f"sha256:{pinned}"
    assert info.value.got == f"sha256:{hash_file(card)}"
    card.write_text(card.read_text() + "\n")
    with pytest.raises(SizeMismatchError):
        _ = load_registry(v1, cache=cache).resolve("dataset:demo").entry


def test_check_reports_card_problems_per_entry(v1, tmp_path):
    upgrade_registry(v1)
    datasets = v1.parent / "datasets"
    shutil.copy(REPO / "datasets" / "nmc-demo-0.1.0.zip", datasets / "nmc.zip")
    nmc = dataset_version("datasets/nmc.zip", hash_file(datasets / "nmc.zip"), 0)
    nmc["size"] = (datasets / "nmc.zip").stat().st_size
    register_dataset(v1, "nmc", "0.1.0", datasets / "nmc.zip", dataset_card())
    bad = yaml.safe_load(v1.read_text())
    bad["datasets"]["demo"]["versions"]["0.1.0"]["card"]["sha256"] = "0" * 64
    (datasets / "demo-0.2.0.card.yaml").unlink()
    v1.write_text(yaml.safe_dump(bad, sort_keys=False))
    report = check_registry(v1, cache=Cache(tmp_path / "c"), tasks={}, dataset_level="metadata")
    by_entry = {r.entry: r for r in report.results}
    (failure,) = by_entry["dataset:demo@0.1.0"].failures
    assert failure.startswith(f"wrong card hash: {datasets / 'demo-0.1.0.card.yaml'}: expected ")
    assert f"expected sha256:{'0' * 64}, got sha256:" in failure
    (failure,) = by_entry["dataset:demo@0.2.0"].failures
    assert failure.startswith("card missing: dataset:demo@0.2.0: the card file")
    assert by_entry["dataset:nmc@0.1.0"].passed == ["hash", "format fusion/0.1 (metadata)"]
    assert by_entry["model:tiny@1.0.0"].passed[:2] == ["hash", "card"]
    assert "2 failed" in str(report)


def test_an_invalid_card_file_is_reported_with_its_field(v1, tmp_path):
    upgrade_registry(v1)
    card = v1.parent / "datasets" / "demo-0.1.0.card.yaml"
    card.write_text(card.read_text().replace("license: CC0-1.0", "licence: CC0-1.0"))
    doc = yaml.safe_load(v1.read_text())
    doc["datasets"]["demo"]["versions"]["0.1.0"]["card"].update(
        sha256=hash_file(card), size=card.stat().st_size
    )
    v1.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(CardFileError, match=r"demo-0.1.0.card.yaml: invalid dataset card: lic"):
        _ = load_registry(v1, cache=Cache(tmp_path / "c")).resolve("dataset:demo@0.1.0").entry
    report = check_registry(v1, cache=Cache(tmp_path / "c"), dataset_level="metadata")
    (failure,) = {r.entry: r for r in report.results}["dataset:demo@0.1.0"].failures
    assert failure.startswith("card invalid: ") and "Extra inputs are not permitted" in failure


@pytest.mark.network
def test_cards_read_online_are_served_offline_from_the_cache(http_server, v1, cache):
    upgrade_registry(v1)
    shutil.copytree(v1.parent, http_server.root, dirs_exist_ok=True)
    url = f"{http_server.url}/registry.yaml"
    online = load_registry(url, cache=cache).resolve("dataset:demo@0.2.0").entry
    http_server.stop()
    offline = load_registry(url, cache=cache, offline=True)
    assert offline.resolve("dataset:demo@0.2.0").entry == online
    with pytest.raises(Exception, match="offline mode is on"):
        _ = offline.resolve("dataset:demo@0.1.0").entry  # never read online


def test_register_model_writes_the_card_file_and_the_index_entry(tmp_path):
    registry = tmp_path / "registry.yaml"
    entry = tiny_generator(tmp_path / "models" / "tiny")
    card = {k: v for k, v in entry["card"].items() if k != "test_tensors"}
    onnx, npz = (
        tmp_path / "models" / "tiny" / "tiny.onnx",
        tmp_path / "models" / "tiny" / "tiny-test.npz",
    )
    tolerance = {"rtol": 1e-5, "atol": 1e-6}
    got = register_model(registry, "tiny", "1.0.0", onnx, card, npz, tolerance, seed=7)
    assert got.url == "models/tiny/tiny.onnx" and got.card.test_tensors.seed == 7
    register_model(registry, "tiny", "1.1.0", onnx, card, npz, tolerance, seed=7)
    index = parse_registry(registry.read_text(), str(registry))
    assert index.models["tiny"].latest == "1.1.0" and set(index.models["tiny"].versions) == {
        "1.0.0",
        "1.1.0",
    }
    assert index.models["tiny"].versions["1.0.0"].card.url == "models/tiny/1.0.0/card.yaml"
    written = yaml.safe_load((tmp_path / "models" / "tiny" / "1.0.0" / "card.yaml").read_text())
    assert written["test_tensors"]["url"] == "models/tiny/tiny-test.npz"
    assert (
        load_registry(registry, cache=Cache(tmp_path / "c")).resolve("model:tiny").entry
        == (
            load_registry(registry, cache=Cache(tmp_path / "c"))
            .registry.models["tiny"]
            .versions["1.1.0"]
        )
    )
    report = check_registry(registry, cache=Cache(tmp_path / "c"), tasks={})
    assert report.ok, str(report)


def test_register_validates_before_writing_anything(tmp_path, v1):
    registry = tmp_path / "registry.yaml"
    _, _, _ = make_blob(tmp_path / "datasets" / "a.zip", 10)
    register_dataset(registry, "a", "0.1.0", tmp_path / "datasets" / "a.zip", dataset_card())
    before = registry.read_text()
    with pytest.raises(CardFileError, match=r"dataset:a@0.2.0.*license"):
        register_dataset(
            registry, "a", "0.2.0", tmp_path / "datasets" / "a.zip", {"description": "x"}
        )
    with pytest.raises(RegistryFileError, match=r"version '0\.2' is not a semantic version"):
        register_dataset(registry, "a", "0.2", tmp_path / "datasets" / "a.zip", dataset_card())
    assert registry.read_text() == before
    assert not (tmp_path / "datasets" / "a-0.2.0.card.yaml").exists()
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == [
        "a-0.1.0.card.yaml",
        "a.zip",
    ]
    with pytest.raises(UnsafePathError, match="outside the folder of the registry"):
        register_dataset(tmp_path / "datasets" / "r.yaml", "b", "0.1.0", v1, dataset_card())
    with pytest.raises(RegistryFileError, match="upgrade it first"):
        register_dataset(
            v1, "b", "0.1.0", v1.parent / "datasets" / "demo-0.1.0.zip", dataset_card()
        )


def test_the_repository_registry_is_a_small_index():
    text = (REPO / "registry.yaml").read_text(encoding="utf-8")
    assert "registry: fusion-registry/2" in text and len(text.encode()) <= 20_000


def test_register_never_overwrites_another_versions_card_file(tmp_path):
    registry = tmp_path / "registry.yaml"
    make_blob(tmp_path / "datasets" / "a-0.1.0.zip", 10)
    archive = tmp_path / "datasets" / "a-0.1.0.zip"
    register_dataset(registry, "a", "0.1.0", archive, dataset_card())
    before = registry.read_text()
    with pytest.raises(RegistryFileError, match=r"card file datasets/a-0\.1\.0\.card\.yaml"):
        register_dataset(registry, "b", "0.1.0", archive, dataset_card(description="other"))
    assert registry.read_text() == before
