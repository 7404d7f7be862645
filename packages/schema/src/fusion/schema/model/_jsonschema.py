"""JSON Schema of the format's metadata, generated from the pydantic models.

``spec/schema/fusion-X.Y/`` holds the output, and ``spec/schema/fusion-chunks-1/`` that of
the chunk manifest (a store-level document, the same in every format version); a test fails
when either is stale. Regenerate with ``fusion schema --out spec/schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..store._manifest import MANIFEST_FORMAT, ChunkManifest
from ._versions import LATEST, ROOT_MODELS
from .v0_1 import ChannelAttrs, CoordinateAttrs

__all__ = ["json_schemas", "manifest_json_schema", "write_json_schemas"]

BASE_ID = "https://fusion-voxels.github.io/spec/schema"


def _documents(schema_id: str) -> dict[str, tuple[type, str]]:
    return {
        "root": (ROOT_MODELS[schema_id], "the root group's `fusion` attribute"),
        "channel": (ChannelAttrs, "the attributes of a channel (data variable)"),
        "coordinate": (CoordinateAttrs, "the attributes of the z, y and x coordinate arrays"),
    }


def json_schemas(schema_id: str = LATEST) -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per metadata document of a format version."""
    version = schema_id.replace("/", "-")
    out = {}
    for name, (model, what) in _documents(schema_id).items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_ID}/{version}/{name}.schema.json",
            "$comment": f"Generated from fusion.schema ({schema_id}) for {what}; do not edit.",
            **schema,
        }
    return out


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of a chunk manifest object (``fusion_chunks.json``)."""
    version = MANIFEST_FORMAT.replace("/", "-")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}/{version}/manifest.schema.json",
        "$comment": f"Generated from fusion.schema ({MANIFEST_FORMAT}) for the chunk manifest "
        "of an array (fusion_chunks.json); do not edit.",
        **ChunkManifest.model_json_schema(mode="validation"),
    }


def write_json_schemas(folder: str | Path) -> list[Path]:
    """Write every supported version's schemas under ``folder/fusion-X.Y/`` and the manifest's
    under ``folder/fusion-chunks-1/``; return the files."""
    documents = {
        Path(schema_id.replace("/", "-")) / f"{name}.schema.json": schema
        for schema_id in ROOT_MODELS
        for name, schema in json_schemas(schema_id).items()
    }
    documents[Path(MANIFEST_FORMAT.replace("/", "-")) / "manifest.schema.json"] = (
        manifest_json_schema()
    )
    written = []
    for relative, schema in documents.items():
        path = Path(folder) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
