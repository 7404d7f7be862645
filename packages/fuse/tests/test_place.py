"""`place`: groups of several datasets co-registered by coordinates, provenance merged."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.fuse import PlacementError, place
from fusion.fuse._recipe import PlaceStep
from fusion.schema import validate
from fusion.schema.testing import grey_image_tree


def step(**groups) -> PlaceStep:
    return PlaceStep.model_validate({"op": "place", "id": "fused", "groups": groups})


@pytest.fixture
def trees():
    coarse = grey_image_tree(np.zeros((4, 10, 10), np.uint8), 1.0, modality="XCT", title="xct")
    fine = grey_image_tree(np.ones((4, 4, 4), np.uint8), 0.1, modality="SEM", title="sem")
    return {"xct": coarse, "sem": fine}


def test_a_group_placed_at_a_point_moves_by_a_pure_translation(trees):
    out = place(step(big={"from": "xct"}, small={"from": "sem", "inside": "big",
                                                  "at_um": [1.0, 2.0, 3.0]}), trees)  # fmt: skip
    assert out["small"].z.values[0] == pytest.approx(1.0)
    assert out["small"].x.values == pytest.approx(3.0 + 0.1 * np.arange(4))
    assert validate(out, level="data").ok
    moved = out.attrs["fusion"]["provenance"]["activities"]["place"]["parameters"]["small"]
    assert moved == {"from": "sem:/image", "translation_um": [1.0, 2.0, 3.0], "inside": "big"}


def test_a_group_that_does_not_fit_is_refused_with_both_extents(trees):
    with pytest.raises(PlacementError, match=r"group 'small' spans .* not inside 'big' at"):
        place(step(big={"from": "xct"}, small={"from": "sem", "inside": "big",
                                               "at_um": [0.0, 0.0, 9.9]}), trees)  # fmt: skip


def test_clashing_ids_are_renamed_and_the_channels_follow(trees):
    out = place(step(big={"from": "xct"}, small={"from": "sem", "inside": "big"}), trees)
    activities = out.attrs["fusion"]["provenance"]["activities"]
    assert {"make", "make-xct"} <= set(activities)  # both datasets' activity was called "make"
    for group in ("big", "small"):
        made_by = out[group].intensity.attrs["provenance"]
        assert activities[made_by]["generated"] == [f"/{group}/intensity"]
    assert validate(out, level="data").ok


def test_dropping_a_channel_that_a_kept_channel_was_made_from_is_refused(trees):
    derived = trees["xct"].copy()
    root = {**derived.attrs["fusion"]}
    graph = {k: dict(v) for k, v in root["provenance"].items()}
    graph["activities"]["threshold"] = {**graph["activities"]["make"],
                                        "type": "derive", "used": ["/image/intensity"],
                                        "generated": ["/mask/values"]}  # fmt: skip
    derived.attrs = {"fusion": {**root, "provenance": graph}}
    mask = derived["image"].to_dataset().rename({"intensity": "values"})
    mask["values"].attrs["provenance"] = "threshold"
    derived["mask"] = mask
    with pytest.raises(PlacementError, match=r"used \['/image/intensity'\], which the placed"):
        place(step(mask={"from": "xct", "group": "mask"}), {"xct": derived})
