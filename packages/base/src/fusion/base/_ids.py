"""Fresh random identifiers: one helper for partial files, temporary names, run ids."""

from __future__ import annotations

import uuid

__all__ = ["new_id"]


def new_id(length: int = 12) -> str:
    """A random id: the first ``length`` hex digits of a uuid4 (at most 32).

    >>> len(new_id()), len(new_id(32)), new_id() != new_id()
    (12, 32, True)
    """
    if not 1 <= length <= 32:
        raise ValueError(f"expected an id length from 1 to 32, but got {length}")
    return uuid.uuid4().hex[:length]
