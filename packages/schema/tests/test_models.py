"""The pydantic models of format 0.1: valid and invalid metadata, parametrized."""

from __future__ import annotations

import copy

import pytest
from plain_stores import channel_attrs, plain_root_attrs
from pydantic import ValidationError

from fusion.schema.model.v0_1 import POINT_GROUPS, ChannelAttrs, Provenance, RootAttrs, check_unit
from fusion.schema.model.v0_1.vocabulary import UNIT_LOOKALIKES, suggest_unit


def test_plain_root_attrs_parse_and_round_trip():
    model = RootAttrs.model_validate(plain_root_attrs())
    assert model.schema_id == "fusion/0.1"
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert RootAttrs.model_validate(dumped) == model
    assert dumped["schema"] == "fusion/0.1"


@pytest.mark.parametrize(
    ("change", "error_type"),
    [
        ({"schema": "fusion/0.2"}, "literal_error"),
        ({"title": ""}, "string_too_short"),
        ({"sample": {}}, "missing"),
        ({"sample": {"material": "NMC", "colour": "grey"}}, "extra_forbidden"),
        ({"created": "2026-01-15"}, "timezone_aware"),
        ({"modified": "2000-01-01T00:00:00Z"}, "time_order"),
    ],
)
def test_invalid_root_attrs(change, error_type):
    raw = {**plain_root_attrs(), **change}
    with pytest.raises(ValidationError) as info:
        RootAttrs.model_validate(raw)
    assert error_type in {e["type"] for e in info.value.errors()}


def _provenance(**changes) -> dict:
    raw = copy.deepcopy(plain_root_attrs()["provenance"])
    for path, value in changes.items():
        node = raw
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return raw


@pytest.mark.parametrize(
    ("changes", "error_type"),
    [
        ({"activities__gen__agents": ["ghost"]}, "dangling_reference"),
        ({"activities__gen__used": ["ghost"]}, "dangling_reference"),
        ({"agents__lab__member_of": "ghost"}, "dangling_reference"),
        ({"agents__lab__orcid": "0000-0002-1825-009"}, "string_pattern_mismatch"),
        ({"entities__scan__size": -1}, "greater_than_equal"),
        ({"entities__model": {"type": "model", "ref": "slicegan-nmc", "sha256": "0" * 64}}, "string_pattern_mismatch"),
        ({"entities__blob": {"type": "blob"}}, "union_tag_invalid"),
        ({"activities__gen__generated": ["phase"]}, "string_pattern_mismatch"),
    ],
)  # fmt: skip
def test_invalid_provenance(changes, error_type):
    with pytest.raises(ValidationError) as info:
        Provenance.model_validate(_provenance(**changes))
    assert error_type in {e["type"] for e in info.value.errors()}


def test_model_entity_and_channel_paths_are_accepted():
    raw = _provenance(
        entities__model={"type": "model", "ref": "model:slicegan-nmc@1.0.0", "sha256": "0" * 64},
        activities__gen__used=["scan", "model", "/electrode/phase"],
    )
    provenance = Provenance.model_validate(raw)
    assert provenance.activity_for("/particle/phase")[0] == "gen"
    assert provenance.activity_for("/nowhere/x") is None


@pytest.mark.parametrize(
    "attrs",
    [
        channel_attrs(),
        channel_attrs(flag_values=[0, 1], flag_meanings="pore solid", flag_colors=["#000000", "#ffffffaa"]),
        channel_attrs(rotation="crystal_to_sample", crystal_symmetry={"NMC": "-3m", "Al": "m-3m"}),
        channel_attrs(units="counts", comment="extra attributes are kept", instrument={"kV": 5}),
    ],
)  # fmt: skip
def test_valid_channel_attrs(attrs):
    model = ChannelAttrs.model_validate(attrs)
    assert model.model_dump(exclude_none=True) == attrs


@pytest.mark.parametrize(
    ("attrs", "error_type"),
    [
        (channel_attrs(units="micron"), "unit_lookalike"),
        (channel_attrs(units="µm"), "unit_lookalike"),
        (channel_attrs(units="EV"), "unit_lookalike"),
        (channel_attrs(units="parsec"), "unit_unknown"),
        (channel_attrs(modality="sem"), "literal_error"),
        (channel_attrs(origin="simulated"), "literal_error"),
        (channel_attrs(flag_values=[0, 1]), "flags_incomplete"),
        (channel_attrs(flag_values=[0, 1], flag_meanings="a"), "flags_mismatch"),
        (channel_attrs(flag_values=[0, 0], flag_meanings="a b"), "flags_duplicate"),
        (channel_attrs(flag_colors=["#000000"]), "flags_incomplete"),
        (channel_attrs(crystal_symmetry={"NMC": "R-3m"}), "literal_error"),
        (channel_attrs(rotation="sample_to_crystal"), "literal_error"),
        (channel_attrs(long_name=""), "string_too_short"),
    ],
)
def test_invalid_channel_attrs(attrs, error_type):
    with pytest.raises(ValidationError) as info:
        ChannelAttrs.model_validate(attrs)
    assert error_type in {e["type"] for e in info.value.errors()}


def test_every_lookalike_points_at_a_canonical_unit():
    for wrong, right in UNIT_LOOKALIKES.items():
        assert check_unit(right) == right
        assert suggest_unit(wrong) == right


def test_point_groups_cover_the_32_classes():
    proper = {"1", "2", "222", "4", "422", "3", "32", "6", "622", "23", "432"}
    assert proper <= set(POINT_GROUPS)
    assert {"m-3m", "-3m", "6/mmm", "4/mmm", "mmm", "2/m", "-1"} <= set(POINT_GROUPS)
    assert len(set(POINT_GROUPS)) == len(POINT_GROUPS)
