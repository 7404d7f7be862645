"""Positions and lengths as people read them: µm, or mm from 1 mm on, never 1e+04 notation."""

from __future__ import annotations

import math

__all__ = ["format_length", "format_position"]

MAX_DECIMALS = 6


def format_position(value_um: float, step_um: float | None = None) -> str:
    """A position in µm (mm from 1,000 µm on) with the digits that tell neighbouring voxels
    ``step_um`` apart (four significant digits without a step).

    >>> format_position(150.93, 0.17), format_position(12360.88, 0.17)
    ('150.9 µm', '12.3609 mm')
    >>> format_position(12365.08, 33.97), format_position(1.0, 0.2), format_position(0.0)
    ('12.37 mm', '1 µm', '0 µm')
    """
    value, unit, scale = _unit_of(value_um)
    step = abs(step_um) / scale if step_um else max(abs(value), 1.0) * 1e-3
    decimals = min(MAX_DECIMALS, max(0, math.ceil(-math.log10(step) - 1e-9)))
    return f"{_plain(value, decimals)} {unit}"


def format_length(length_um: float) -> str:
    """A scale-bar length: ``"500 µm"``, ``"5 mm"``.

    >>> format_length(0.2), format_length(500.0), format_length(5000.0)
    ('0.2 µm', '500 µm', '5 mm')
    """
    value, unit, _ = _unit_of(length_um)
    return f"{_plain(value, MAX_DECIMALS)} {unit}"


def _unit_of(value_um: float) -> tuple[float, str, float]:
    """``(value, unit, µm per unit)``: mm from 1,000 µm on."""
    if abs(value_um) >= 1000.0:
        return value_um / 1000.0, "mm", 1000.0
    return value_um, "µm", 1.0


def _plain(value: float, decimals: int) -> str:
    """Fixed-point with at most ``decimals`` decimals, trailing zeros dropped, no ``-0``."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
