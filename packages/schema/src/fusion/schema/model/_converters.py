"""Upgrades between format versions, one step each. Stores are never changed in place."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["upgrade_root_0_1_to_0_2"]


def upgrade_root_0_1_to_0_2(fusion: Mapping[str, Any]) -> dict[str, Any]:
    """A 0.1 root ``fusion`` attribute as 0.2: every 0.1 dataset is a valid 0.2 dataset.

    >>> upgrade_root_0_1_to_0_2({"schema": "fusion/0.1", "title": "t"})["schema"]
    'fusion/0.2'
    """
    if fusion.get("schema") != "fusion/0.1":
        raise ValueError(f"expected a fusion/0.1 root attribute, got {fusion.get('schema')!r}")
    upgraded = copy.deepcopy(dict(fusion))
    upgraded["schema"] = "fusion/0.2"
    return upgraded
