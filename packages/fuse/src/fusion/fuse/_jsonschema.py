"""JSON Schema of the recipe format, generated from the pydantic models.

``spec/schema/recipe/recipe.schema.json`` holds the output, for editors and other tools that
check recipes without Python; a test fails when it is stale. Regenerate with::

    uv run python -c "from fusion.fuse import write_recipe_schema; write_recipe_schema('spec/schema')"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._recipe import RECIPE_FORMAT, Recipe

__all__ = ["recipe_json_schema", "write_recipe_schema"]

SCHEMA_ID = "https://fusion-voxels.github.io/spec/schema/recipe/recipe.schema.json"


def recipe_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``fusion-recipe/1`` file, as written in YAML."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "$comment": f"Generated from fusion.fuse for a recipe ({RECIPE_FORMAT}); do not edit.",
        **Recipe.model_json_schema(mode="validation", by_alias=True),
    }


def write_recipe_schema(folder: str | Path) -> Path:
    """Write the schema as ``folder/recipe/recipe.schema.json``; return its path."""
    path = Path(folder) / "recipe" / "recipe.schema.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(recipe_json_schema(), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path
