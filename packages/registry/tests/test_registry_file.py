"""The registry file and the cards: what is accepted, and what is refused with which message."""

from __future__ import annotations

import copy

import pytest
from registry_helpers import dataset_version, tiny_card

from fusion.registry import ModelCard, RegistryFileError, parse_registry

SHA = "ab" * 32


def registry_text(datasets: str) -> str:
    return f"registry: fusion-registry/1\ndatasets:\n{datasets}"


GOOD = registry_text(
    "  nmc-demo:\n    versions:\n      0.1.0:\n        url: datasets/a.zip\n"
    f"        sha256: {SHA}\n        size: 3\n"
    "        card: {description: d, format: fusion/0.1, license: CC0-1.0}\n"
)


def test_a_good_registry_parses():
    registry = parse_registry(GOOD, "r.yaml")
    entry = registry.datasets["nmc-demo"].versions["0.1.0"]
    assert (entry.url, entry.sha256, entry.size, entry.card.layout) == (
        "datasets/a.zip",
        SHA,
        3,
        "zarr-zip",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nmc-demo:", "NMC_demo:", "name 'NMC_demo' is not allowed: names are [a-z0-9-]+"),
        ("nmc-demo:", "-demo:", "name '-demo' is not allowed"),
        ("0.1.0:", "'0.1':", "version '0.1' is not a semantic version"),
        ("0.1.0:", "v1.0.0:", "version 'v1.0.0' is not a semantic version"),
        ("url: datasets/a.zip", "url: ../a.zip", "'..' would leave the registry folder"),
        (
            "url: datasets/a.zip",
            "url: datasets/../../a.zip",
            "'..' would leave the registry folder",
        ),
        ("url: datasets/a.zip", "url: /etc/passwd", "absolute path '/etc/passwd' refused"),
        ("url: datasets/a.zip", "url: ~/a.zip", "absolute path '~/a.zip' refused"),
        (f"        sha256: {SHA}\n", "", "no sha256: refused"),  # needs the https URL below
        ("sha256: " + SHA, "sha256: sha256:" + SHA, "sha256: String should match pattern"),
        ("size: 3", "size: -3", "size: Input should be greater than or equal to 0"),
        ("size: 3", "size: '3'", "size: Input should be a valid integer, got '3'"),
        (
            "license: CC0-1.0}",
            "license: CC0-1.0, colour: red}",
            "card.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(old, new, message):
    text = GOOD.replace(old, new)
    if old.startswith("        sha256"):
        text = text.replace("url: datasets/a.zip", "url: https://example.org/a.zip")
    with pytest.raises(RegistryFileError) as info:
        parse_registry(text, "r.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("r.yaml: invalid fusion-registry/1 file: dataset:")


def test_https_url_without_sha256_is_refused():
    text = GOOD.replace(f"        sha256: {SHA}\n", "").replace(
        "datasets/a.zip", "https://example.org/a.zip"
    )
    with pytest.raises(
        RegistryFileError,
        match=r"dataset:nmc-demo@0.1.0: .*network URL 'https://example.org/a.zip' has no sha256: refused",
    ):
        parse_registry(text, "r.yaml")


def test_a_local_entry_without_sha256_is_accepted_for_development():
    parse_registry(GOOD.replace(f"        sha256: {SHA}\n", ""), "r.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "registry: !!python/object/apply:os.system ['echo pwned']",
        GOOD + "        extra: !!python/name:os.system\n",
    ],
)
def test_python_tags_are_refused(text):
    with pytest.raises(RegistryFileError, match=r"refused as YAML \(safe loading only"):
        parse_registry(text, "r.yaml")


def test_duplicate_keys_and_aliases_are_refused():
    duplicated = GOOD + "      0.1.0:\n        url: datasets/b.zip\n"
    with pytest.raises(RegistryFileError, match=r"duplicate key '0\.1\.0'"):
        parse_registry(duplicated, "r.yaml")
    aliased = "registry: fusion-registry/1\na: &x [1, 2]\nb: *x\n"
    with pytest.raises(RegistryFileError, match="aliases"):
        parse_registry(aliased, "r.yaml")


@pytest.mark.parametrize("text", ["registry: fusion-registry/3\n", "- a\n", "models: {}\n", ""])
def test_other_formats_are_refused(text):
    with pytest.raises(RegistryFileError, match="not a fusion-registry/1 file"):
        parse_registry(text, "r.yaml")


def test_latest_must_be_a_version():
    text = GOOD.replace("  nmc-demo:\n", "  nmc-demo:\n    latest: 9.9.9\n")
    with pytest.raises(
        RegistryFileError,
        match=r"dataset:nmc-demo: .*latest is '9.9.9', which is not one of the versions \['0.1.0'\]",
    ):
        parse_registry(text, "r.yaml")


def card() -> dict:
    return tiny_card("models/t.npz", SHA, 10, seed=7)


def test_the_tiny_card_is_valid():
    model = ModelCard.model_validate(card())
    assert model.tensor("probs").axes[2].size.offset == -2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(task="Dance!"), "String should match pattern"),
        (
            lambda c: c.update(latent={"tensor": "probs", "distribution": "uniform"}),
            "latent tensor probs is not an input",
        ),
        (
            lambda c: c["channels"][0].update(tensor="nope"),
            "channel's tensor nope is not an output",
        ),
        (
            lambda c: c["outputs"][0]["axes"][2]["size"].update(tensor="probs"),
            "refers to an axis that is not an input's",
        ),
        (
            lambda c: c["inputs"][0]["axes"].append({"name": "x", "type": "space"}),
            "axis names must be unique",
        ),
        (lambda c: c["outputs"][0].update(name="z"), "tensor names must be unique"),
        (lambda c: c.update(authors=[]), "at least 1 item"),
        (lambda c: c.update(license="MIT license!"), "String should match pattern"),
        (
            lambda c: c["test_tensors"]["tolerance"].update(mismatched_ppm=-1),
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_cards_are_refused(change, message):
    """Rules of every card; a task's own rules (a generator needs ``latent``, ...) are its
    `Task.card_problems` (fusion-models' tests)."""
    data = copy.deepcopy(card())
    change(data)
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        ModelCard.model_validate(data)


def test_a_dataset_entry_without_card_is_refused():
    entry = dataset_version("a.zip", SHA, 3)
    del entry["card"]
    import yaml

    text = yaml.safe_dump(
        {"registry": "fusion-registry/1", "datasets": {"a": {"versions": {"1.0.0": entry}}}}
    )
    with pytest.raises(RegistryFileError, match=r"dataset:a@1.0.0: card: Field required"):
        parse_registry(text, "r.yaml")
