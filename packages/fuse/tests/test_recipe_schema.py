"""The recipe's JSON Schema is current, and the reference recipe and every mistake the pydantic
model refuses agree with it (tools without Python see the same format)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from fuse_helpers import small_recipe

from fusion.fuse import recipe_json_schema

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "spec" / "schema" / "recipe" / "recipe.schema.json"


def test_the_committed_schema_is_the_generated_one():
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == recipe_json_schema(), (
        "spec/schema/recipe/recipe.schema.json is stale; regenerate it (see fusion.fuse._jsonschema)"
    )


@pytest.mark.parametrize("recipe", ["reference", "small"])
def test_good_recipes_pass_the_json_schema(recipe):
    document = (
        yaml.safe_load((REPO / "docs" / "examples" / "nmc-fusion.yaml").read_text())
        if recipe == "reference"
        else small_recipe()
    )
    jsonschema.Draft202012Validator(recipe_json_schema()).validate(document)


def test_a_misspelt_field_fails_the_json_schema_too():
    document = small_recipe()
    document["steps"][2]["shapes"] = [4, 4, 4]
    with pytest.raises(jsonschema.ValidationError, match="shapes"):
        jsonschema.Draft202012Validator(recipe_json_schema()).validate(document)
