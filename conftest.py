"""Shared fixtures: where the real data lives (../shared/data), never copied into the repo.

Tests name files relative to a data folder and parametrize over names; the fixtures resolve
them. In CI (``CI`` set) a missing data folder is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
