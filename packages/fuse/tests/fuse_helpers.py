"""Recipes over real instrument files (../shared/data), for the runner tests."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

SHARED = (
    Path(
        os.environ.get(
            "FUSION_SHARED_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"
        )
    )
    / "instruments"
)
SEM = SHARED / "sem" / "test_tiff_Zeiss_SEM_1k.tif"
XCT = SHARED / "xct" / "cylindrical_cell_slices"


def small_recipe() -> dict:
    """SEM → segmentation, a generated particle volume, an XCT electrode volume, placed."""
    return {
        "recipe": "fusion-recipe/1",
        "title": "test fusion",
        "license": "CC0-1.0",
        "sample": {"material": "NMC cathode (test)"},
        "inputs": {"sem": {"url": str(SEM)},
                   "xct": {"url": str(XCT), "storage_options": {}}},
        "steps": [
            {"id": "sem", "op": "load", "input": "sem", "kind": "sem"},
            {"id": "sem-phase", "op": "segment", "from": "sem", "model": "model:tiny-seg",
             "tile": 256, "overlap": 32},
            {"id": "particle", "op": "generate", "model": "model:tiny-gen", "shape": [6, 8, 8],
             "seed": 3},
            {"id": "xct", "op": "load", "input": "xct", "kind": "xct",
             "options": {"voxel_size_um": 33.97}},
            {"id": "fused", "op": "place", "groups": {
                "electrode": {"from": "xct"},
                "particle": {"from": "particle", "inside": "electrode"},
                "sem": {"from": "sem-phase"},
            }},
        ],
    }  # fmt: skip


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path
