"""Fresh identifiers for provenance entities, activities and agents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["unique_id"]


def unique_id(stem: str, taken: Mapping[str, Any]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, ... whichever ``taken`` does not hold.

    >>> unique_id("segment", {"segment": 1, "segment-2": 1})
    'segment-3'
    """
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    return candidate
