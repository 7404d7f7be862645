"""References, latest, and where relative artifact paths may lead."""

from __future__ import annotations

import pytest
from registry_helpers import dataset_version, write_registry

from fusion.registry import (
    BadReferenceError,
    NotInRegistryError,
    UnsafePathError,
    load_registry,
    parse_ref,
)

SHA = "cd" * 32


@pytest.mark.parametrize(
    ("text", "kind", "name", "version"),
    [
        ("model:slicegan-nmc", "model", "slicegan-nmc", None),
        ("dataset:nmc-demo@0.1.0", "dataset", "nmc-demo", "0.1.0"),
        ("dataset:nmc-demo@latest", "dataset", "nmc-demo", None),
        ("model:a1@1.0.0-rc.1+build.5", "model", "a1", "1.0.0-rc.1+build.5"),
    ],
)
def test_references_parse(text, kind, name, version):
    ref = parse_ref(text)
    assert (ref.kind, ref.name, ref.version) == (kind, name, version)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slicegan-nmc", "is not a reference: write KIND:NAME[@VERSION]"),
        ("models:slicegan-nmc", "KIND one of model, dataset"),
        ("model:SliceGAN", "name 'SliceGAN' is not allowed"),
        ("model:../../etc", "name '../../etc' is not allowed"),
        ("model:a@1.0", "version '1.0' is not a semantic version"),
        ("model:a@", "version '' is not a semantic version"),
        ("model:", "name '' is not allowed"),
    ],
)
def test_bad_references_are_refused_clearly(text, message):
    with pytest.raises(BadReferenceError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_ref(text)


def registry_with_versions(tmp_path, versions, latest=None):
    path = write_registry(
        tmp_path / "registry.yaml",
        datasets={"demo": {v: dataset_version(f"d/{v}.zip", SHA, 1) for v in versions}},
    )
    if latest:
        text = path.read_text().replace("  demo:\n", f"  demo:\n    latest: {latest}\n")
        path.write_text(text)
    return load_registry(path)


@pytest.mark.parametrize(
    ("versions", "latest", "expected"),
    [
        (["0.1.0", "0.10.0", "0.9.0"], None, "0.10.0"),  # precedence, not string order
        (["1.0.0", "2.0.0-rc.1"], None, "1.0.0"),  # releases before pre-releases
        (["2.0.0-rc.1", "2.0.0-rc.10", "2.0.0-rc.2"], None, "2.0.0-rc.10"),  # only pre-releases
        (["0.1.0", "0.2.0"], "0.1.0", "0.1.0"),  # the pointer wins
    ],
)
def test_latest(tmp_path, versions, latest, expected):
    loaded = registry_with_versions(tmp_path, versions, latest)
    assert loaded.resolve("dataset:demo").ref.version == expected
    assert loaded.resolve("dataset:demo@latest").ref.version == expected
    assert loaded.resolve(f"dataset:demo@{versions[0]}").ref.version == versions[0]


def test_missing_names_and_versions_list_what_exists(tmp_path):
    loaded = registry_with_versions(tmp_path, ["0.1.0", "0.2.0"])
    with pytest.raises(
        NotInRegistryError, match=r"dataset:other is not in the registry .*; its datasets: demo"
    ) as info:
        loaded.resolve("dataset:other")
    assert isinstance(info.value, KeyError)
    with pytest.raises(
        NotInRegistryError, match=r"versions of dataset:demo: 0.1.0, 0.2.0 \(latest\)"
    ):
        loaded.resolve("dataset:demo@0.3.0")
    with pytest.raises(NotInRegistryError, match="its models: none"):
        loaded.resolve("model:demo")


def test_relative_paths_resolve_against_the_registry(tmp_path):
    loaded = registry_with_versions(tmp_path, ["0.1.0"])
    resolved = loaded.resolve("dataset:demo")
    assert resolved.url == str(tmp_path / "d" / "0.1.0.zip")
    assert resolved.suffix == ".zip"


def test_a_link_out_of_the_registry_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0.1.0.zip").write_bytes(b"x")
    loaded = registry_with_versions(tmp_path / "reg", ["0.1.0"])
    (tmp_path / "reg" / "d").symlink_to(outside, target_is_directory=True)
    with pytest.raises(
        UnsafePathError, match=r"outside the registry folder .* \(through a link\): refused"
    ):
        loaded.resolve("dataset:demo")
