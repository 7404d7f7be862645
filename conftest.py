"""Shared fixtures: where the real data lives (../shared/data), never copied into the repo.

Tests name files relative to a data folder and parametrize over names; the fixtures resolve
them. In CI (``CI`` set) a missing data folder is a failure, elsewhere a skip. Also the small
reference recipe that end-to-end tests run on those files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

REFERENCE_RECIPE = Path(__file__).resolve().parent / "docs" / "examples" / "nmc-fusion.yaml"
SHARED_DATA = Path(
    os.environ.get("FUSION_SHARED_DATA", Path(__file__).resolve().parent.parent / "shared" / "data")
)


def _data_folder(name: str) -> Path:
    folder = SHARED_DATA / name
    if not folder.is_dir():
        message = f"real data missing: {folder} (../shared/data must sit beside the checkout)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def instruments() -> Path:
    """``../shared/data/instruments``: real SEM, XCT, EBSD and EELS files."""
    return _data_folder("instruments")


@pytest.fixture(scope="session")
def micrographs() -> Path:
    """``../shared/data/micrographs``: real segmented micrographs and volumes."""
    return _data_folder("micrographs")


@pytest.fixture(scope="session")
def small_reference_recipe(tmp_path_factory, instruments) -> Path:
    """docs/examples/nmc-fusion.yaml with the particle volume shrunk to 64³, the super-resolved
    region to 12³ coarse cells, and its input paths
    made absolute, written to a temporary folder (run it with ``fusion.fuse.fuse``)."""
    recipe = yaml.safe_load(REFERENCE_RECIPE.read_text())
    for spec in recipe["inputs"].values():
        spec["url"] = str((REFERENCE_RECIPE.parent / spec["url"]).resolve())
    particle = next(s for s in recipe["steps"] if s["id"] == "particle")
    particle["shape"] = [64, 64, 64]
    fine = next(s for s in recipe["steps"] if s["id"] == "xct-nmc-fine")
    fine["region"] = [[0, 12], [0, 12], [0, 12]]
    path = tmp_path_factory.mktemp("recipe") / "nmc-fusion-small.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path
