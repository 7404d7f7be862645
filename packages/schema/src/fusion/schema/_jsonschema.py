"""JSON Schema of the format's metadata, generated from the pydantic models.

``spec/schema/fusion-0.1/`` holds the output; a test fails when it is stale. Regenerate with
``fusion schema --out spec/schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .v0_1 import SCHEMA_ID, ChannelAttrs, CoordinateAttrs, RootAttrs

__all__ = ["json_schemas", "write_json_schemas"]

BASE_ID = "https://fusion-voxels.github.io/spec/schema"
DOCUMENTS = {
    "root": (RootAttrs, "the root group's `fusion` attribute"),
    "channel": (ChannelAttrs, "the attributes of a channel (data variable) in a scale group"),
    "coordinate": (CoordinateAttrs, "the attributes of the z, y and x coordinate arrays"),
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per metadata document, keyed by document name."""
    version = SCHEMA_ID.replace("/", "-")
    out = {}
    for name, (model, what) in DOCUMENTS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_ID}/{version}/{name}.schema.json",
            "$comment": f"Generated from fusion.schema ({SCHEMA_ID}) for {what}; do not edit.",
            **schema,
        }
    return out


def write_json_schemas(folder: str | Path) -> list[Path]:
    """Write the schemas under ``folder/fusion-0.1/``; return the files written."""
    target = Path(folder) / SCHEMA_ID.replace("/", "-")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = target / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
