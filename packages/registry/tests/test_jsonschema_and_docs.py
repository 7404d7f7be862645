"""spec/schema/registry/ is generated from the models (never stale); docstring examples hold."""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from registry_helpers import tiny_card

import fusion.registry
from fusion.registry import json_schemas

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "spec" / "schema" / "registry"


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_committed_json_schema_is_current(name):
    committed = json.loads((SPEC / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schemas()[name], (
        f"spec/schema/registry/{name}.schema.json is stale: run `fusion registry schema --out spec/schema`"
    )


def test_json_schema_accepts_and_refuses_like_the_models():
    schemas = json_schemas()
    registry = yaml.safe_load((REPO / "registry.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(registry, schemas["registry"])
    jsonschema.validate(tiny_card("m/t.npz", "ab" * 32, 1, seed=1), schemas["model-card"])
    bad_name = {**registry, "datasets": {"NMC_demo": registry["datasets"]["nmc-demo"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_name, schemas["registry"])
    bad_version = {
        **registry,
        "datasets": {
            "x": {"versions": {"0.1": registry["datasets"]["nmc-demo"]["versions"]["0.1.0"]}}
        },
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_version, schemas["registry"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**tiny_card("m/t.npz", "ab" * 32, 1, seed=1), "task": "Dance!"}, schemas["model-card"]
        )


MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(fusion.registry.__path__, prefix="fusion.registry.")
)


@pytest.mark.parametrize("name", [m for m in MODULES if not m.endswith("__main__")])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_public_names_resolve():
    for name in fusion.registry.__all__:
        assert getattr(fusion.registry, name) is not None
    assert issubclass(fusion.registry.HashMismatchError, fusion.registry.IntegrityError)
    from fusion.schema import FusionError

    assert issubclass(fusion.registry.OfflineError, FusionError)
    assert issubclass(fusion.registry.OfflineError, ConnectionError)
    assert issubclass(fusion.registry.NotInRegistryError, KeyError)
