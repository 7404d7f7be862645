"""The JSON Schema in spec/ is generated from the models (never stale); codes are documented."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from plain_stores import channel_attrs, plain_root_attrs

from fusion.schema import CODES, SUPPORTED_SCHEMAS, json_schemas

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("version", SUPPORTED_SCHEMAS)
@pytest.mark.parametrize("name", ["root", "channel", "coordinate"])
def test_committed_json_schema_is_current(version, name):
    folder = version.replace("/", "-")
    path = REPO / "spec" / "schema" / folder / f"{name}.schema.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == json_schemas(version)[name], (
        f"spec/schema/{folder}/{name}.schema.json is stale: run `fusion schema --out spec/schema`"
    )


def test_json_schema_accepts_and_refuses_like_the_models():
    schemas = json_schemas("fusion/0.1")
    jsonschema.validate(plain_root_attrs(), schemas["root"])
    jsonschema.validate(channel_attrs(flag_values=[0], flag_meanings="pore"), schemas["channel"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**plain_root_attrs(), "colour": "red"}, schemas["root"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(channel_attrs(modality="MRI"), schemas["channel"])


def test_every_code_is_in_the_specification():
    text = "".join(p.read_text(encoding="utf-8") for p in (REPO / "spec").glob("fusion-*.md"))
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"codes not documented in spec/fusion-*.md: {missing}"
