"""Where each panel, title and key goes, in inches, before anything is drawn there.

A panel's box has the physical aspect of its slice, its long side `PANEL_INCHES`; a slice
more elongated than `MAX_ELONGATION` (ten slices of 728² voxels seen from the side) is drawn
stretched across its short side by a whole factor, which its title then states. Panels of
the same view share a column across rows, each column as wide as its widest box or title;
each row's key follows its last panel. Nothing overlaps and everything lies inside the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_ELONGATION",
    "PANEL_INCHES",
    "Box",
    "Placement",
    "RowSizes",
    "layout",
    "panel_box",
]

PANEL_INCHES = 2.6
"""Long side of a panel's box."""
MAX_ELONGATION = 5.0
"""Largest ratio of a box's long side to its short side."""
MARGIN = 0.1
COLUMN_GAP = 0.2
KEY_GAP = 0.15
ROW_GAP = 0.2

Rect = tuple[float, float, float, float]
"""(left, bottom, width, height) in inches from the figure's lower left corner."""


@dataclass(frozen=True)
class Box:
    """The size of a panel's axes in inches, and how much one of its axes is stretched."""

    width: float
    height: float
    stretch: int = 1
    """Whole factor by which the short side is drawn longer than the long side's scale."""
    stretched: str = ""
    """``"rows"`` or ``"columns"`` when ``stretch`` > 1."""


def panel_box(extent: Sequence[float]) -> Box:
    """The box of a slice of ``extent`` (left, right, bottom, top) in µm.

    >>> panel_box((0, 200, 100, 0))
    Box(width=2.6, height=1.3, stretch=1, stretched='')
    >>> panel_box((0, 24696, 305, 0))  # ten 30.5 µm slices seen from the side
    Box(width=2.6, height=0.5..., stretch=17, stretched='rows')
    >>> panel_box((0, 10, 100, 0))
    Box(width=0.52, height=2.6, stretch=2, stretched='columns')
    """
    width_um, height_um = abs(extent[1] - extent[0]), abs(extent[2] - extent[3])
    aspect = width_um / height_um
    if aspect >= 1:
        stretch = max(1, math.ceil(aspect / MAX_ELONGATION - 1e-9))
        shown = aspect / stretch
        return Box(PANEL_INCHES, PANEL_INCHES / shown, stretch, "rows" if stretch > 1 else "")
    stretch = max(1, math.ceil(1 / (aspect * MAX_ELONGATION) - 1e-9))
    shown = aspect * stretch
    return Box(PANEL_INCHES * shown, PANEL_INCHES, stretch, "columns" if stretch > 1 else "")


@dataclass(frozen=True)
class RowSizes:
    """What one row needs, in inches: its panels' boxes, their titles and its key."""

    boxes: list[Box]
    titles: list[tuple[float, float]]
    """(width, height) of each panel's title, its pad above the box included."""
    key: tuple[float, float]
    """(width, height) of the row's key; (0, 0) for none."""


@dataclass(frozen=True)
class Placement:
    """The figure's size and every panel's and key's place, in inches."""

    size: tuple[float, float]
    panels: list[list[Rect]]
    keys: list[Rect]
    """Each row's key: left, bottom, width, height (centred on the row's tallest box)."""


def layout(rows: Sequence[RowSizes]) -> Placement:
    """Place the rows top to bottom, views in shared columns, keys after their last panel."""
    columns = _column_widths(rows)
    height = 2 * MARGIN + sum(_row_height(r) for r in rows) + ROW_GAP * max(0, len(rows) - 1)
    top, right = height - MARGIN, 0.0
    panels, keys = [], []
    for row in rows:
        title, body = _title_height(row), _body_height(row)
        box_top = top - title
        left, rects = MARGIN, []
        for box, column in zip(row.boxes, columns, strict=False):
            rects.append((left + (column - box.width) / 2, box_top - box.height, *_size(box)))
            left += column + COLUMN_GAP
        key_left = left - COLUMN_GAP + (KEY_GAP if row.key[0] else 0.0)
        keys.append((key_left, box_top - body / 2 - row.key[1] / 2, *row.key))
        right = max(right, key_left + row.key[0])
        panels.append(rects)
        top = box_top - body - ROW_GAP
    return Placement((right + MARGIN, height), panels, keys)


def _size(box: Box) -> tuple[float, float]:
    return box.width, box.height


def _column_widths(rows: Sequence[RowSizes]) -> list[float]:
    count = max((len(r.boxes) for r in rows), default=0)
    widths = [0.0] * count
    for row in rows:
        for i, (box, (title, _)) in enumerate(zip(row.boxes, row.titles, strict=True)):
            widths[i] = max(widths[i], box.width, title)
    return widths


def _title_height(row: RowSizes) -> float:
    return max((height for _, height in row.titles), default=0.0)


def _body_height(row: RowSizes) -> float:
    """The tallest of the row's boxes and its key."""
    return max(max((box.height for box in row.boxes), default=0.0), row.key[1])


def _row_height(row: RowSizes) -> float:
    return _title_height(row) + _body_height(row)
