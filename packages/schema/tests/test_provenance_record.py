"""fusion.schema.provenance: records validate, ids clash loudly, lazy marks, entities merge."""

from __future__ import annotations

import datetime as dt

import pytest
import xarray as xr

from fusion.schema import SchemaError, end_when_written, validate
from fusion.schema import provenance as prov
from fusion.schema.store._write_times import ends_when_written
from fusion.schema.testing import grey_image_tree

SHA = "a" * 64


def _tree(**root) -> xr.DataTree:
    return xr.DataTree(xr.Dataset(attrs={"fusion": prov.new_root("test", **root)}))


def test_a_recorded_tree_validates_and_the_input_is_unchanged():
    import numpy as np

    tree = grey_image_tree(np.zeros((4, 5), np.uint16), 0.01)
    before = prov.provenance_of(tree)["activities"].copy()
    out = prov.record(
        tree,
        "segment",
        used=["unet", "/image/intensity"],
        generated=["/image/intensity"],
        parameters={"threshold": 0.5},
        software=("fusion-models", "1.0"),
        entities={"unet": prov.model_entity("model:unet-nmc@0.1.0", SHA)},
    )
    assert validate(out, level="data").ok
    assert prov.provenance_of(tree)["activities"] == before
    activity = prov.provenance_of(out)["activities"]["segment"]
    assert activity["type"] == "segment"
    assert activity["software"] == {"name": "fusion-models", "version": "1.0"}
    assert activity["used"] == ["unet", "/image/intensity"]
    assert activity["parameters"] == {"threshold": 0.5}
    assert out.attrs["fusion"]["modified"] == activity["ended"]


def test_stored_keys_are_those_given_and_empty_lists_are_left_out():
    out = prov.record(
        _tree(),
        "fuse",
        software=("fusion-fuse", "1"),
        used=[],
        started="2026-01-01T00:00:00.000+00:00",
    )
    activity = prov.provenance_of(out)["activities"]["fuse"]
    assert list(activity) == ["type", "software", "started", "ended"]


def test_a_taken_activity_id_is_a_schema_error():
    tree = prov.record(_tree(), "derive", activity_id="make", software=("me", "1"))
    with pytest.raises(SchemaError, match="'make' is taken"):
        prov.record(tree, "derive", activity_id="make", software=("me", "1"))
    again = prov.record(tree, "derive", software=("me", "1"))
    again = prov.record(again, "derive", software=("me", "1"))
    assert list(prov.provenance_of(again)["activities"]) == ["make", "derive", "derive-2"]


def test_a_dangling_reference_or_a_bad_activity_is_a_schema_error():
    with pytest.raises(SchemaError, match="'raw', which is not an entity"):
        prov.record(_tree(), "load", used=["raw"], software=("me", "1"))
    with pytest.raises(SchemaError, match="activity 'x'"):
        prov.record(_tree(), "dance", activity_id="x", software=("me", "1"))
    with pytest.raises(SchemaError, match="ended"):
        prov.record(
            _tree(),
            "derive",
            software=("me", "1"),
            started="2026-01-02T00:00:00+00:00",
            ended="2026-01-01T00:00:00+00:00",
        )
    with pytest.raises(SchemaError, match="no fusion attribute"):
        prov.record(xr.DataTree(), "derive", software=("me", "1"))


def test_lazy_marks_the_activity_to_end_when_written():
    out = prov.record(_tree(), "generate", software=("me", "1"), lazy=True)
    assert ends_when_written(out.attrs) == ["generate"]
    assert (
        prov.record(_tree(), "generate", software=("me", "1")).attrs.get("fusion_ends_when_written")
        is None
    )
    assert end_when_written  # the mark is the one `write` reads


def test_entities_and_agents_merge_and_clashes_are_errors():
    model = prov.model_entity("model:unet-nmc@0.1.0", SHA)
    group = {"type": "group", "name": "maintainers"}
    tree = prov.record(_tree(), "segment", used=["m"], entities={"m": model},
                       agents={"g": group}, software=("me", "1"))  # fmt: skip
    tree = prov.record(tree, "segment", used=["m"], entities={"m": model},
                       agents={"g": group}, software=("me", "1"))  # fmt: skip
    graph = prov.provenance_of(tree)
    assert list(graph["entities"]) == ["m"] and list(graph["agents"]) == ["g"]
    assert graph["activities"]["segment-2"]["agents"] == ["g"]
    other = prov.model_entity("model:unet-nmc@0.2.0", "b" * 64)
    with pytest.raises(SchemaError, match="entity id 'm' is taken"):
        prov.record(tree, "segment", entities={"m": other}, software=("me", "1"))
    assert prov.entity_id_for(tree, model, "x") == "m"
    assert prov.entity_id_for(tree, other, "m") == "m-2"


def test_entity_builders_validate(tmp_path):
    path = tmp_path / "scan.ang"
    path.write_bytes(b"# header\n")
    entity = prov.file_entity(path, format="EDAX TSL .ang")
    assert entity["name"] == "scan.ang" and entity["size"] == 9
    assert entity["location"] == str(path.resolve())
    assert len(entity["sha256"]) == 64
    assert prov.dataset_entity("dataset:nmc@1.0.0", SHA)["sha256"] == SHA
    with pytest.raises(SchemaError, match="model entity"):
        prov.model_entity("unet", SHA)


def test_new_root_and_times():
    created = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    root = prov.new_root("t", description="d", sample={"material": "NMC"}, created=created)
    assert root["created"] == root["modified"] == "2026-01-01T12:00:00.000+00:00"
    assert list(root) == ["schema", "title", "description", "sample", "created", "modified",
                          "provenance"]  # fmt: skip
    with pytest.raises(SchemaError, match="schema"):
        prov.new_root("t", schema="fusion/9.9")
    stamp = prov.now()
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None and stamp[-10] == "."
