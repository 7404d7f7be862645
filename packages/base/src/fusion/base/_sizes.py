"""Byte counts in words a user reads at a glance."""

from __future__ import annotations

__all__ = ["human_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number at least 1.

    >>> human_bytes(512), human_bytes(1536), human_bytes(10**15), human_bytes(0)
    ('512 B', '1.5 KiB', '909.5 TiB', '0 B')
    """
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
