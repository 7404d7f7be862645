"""JSON Schema of the registry file and the cards, generated from the pydantic models.

``spec/schema/registry/`` holds the output; a test fails when it is stale. Regenerate with
``fusion registry schema --out spec/schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from ._card import DatasetCard, ModelCard
from ._index import FORMAT_V2, AnyRegistry
from ._models import FORMAT

__all__ = ["json_schemas", "write_json_schemas"]

BASE_ID = "https://fusion-voxels.github.io/spec/schema/registry"
DOCUMENTS = {
    "registry": (
        TypeAdapter(AnyRegistry),
        f"a registry file ({FORMAT_V2}, an index of card files; or {FORMAT}, cards inline)",
    ),
    "model-card": (TypeAdapter(ModelCard), "a model card (the card file of a model version)"),
    "dataset-card": (
        TypeAdapter(DatasetCard),
        "a dataset card (the card file of a dataset version)",
    ),
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per document, keyed by document name."""
    out = {}
    for name, (model, what) in DOCUMENTS.items():
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_ID}/{name}.schema.json",
            "$comment": f"Generated from fusion.registry for {what}; do not edit.",
            **_keys_must_match(model.json_schema(mode="validation")),
        }
    return out


def _keys_must_match(node: Any) -> Any:
    """Pydantic writes constrained dict keys (names, versions) as ``patternProperties``, which
    lets other keys through; turn them into ``propertyNames`` + ``additionalProperties``."""
    if isinstance(node, list):
        return [_keys_must_match(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _keys_must_match(v) for k, v in node.items()}
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
        ((pattern, value),) = patterns.items()
        del node["patternProperties"]
        node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        node["additionalProperties"] = value
    return node


def write_json_schemas(folder: str | Path) -> list[Path]:
    """Write the schemas under ``folder/registry/``; return the files written."""
    target = Path(folder) / "registry"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = target / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
