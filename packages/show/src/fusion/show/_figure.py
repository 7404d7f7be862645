"""Draw rows of slices into one matplotlib Figure (Agg, no pyplot) and save it as a PNG.

One row per channel, one column per view, each panel's box of its slice's physical aspect
(`fusion.show._layout`); every panel has a scale bar in its lower left corner (its length the
largest 1, 2 or 5 × 10ⁿ µm within 30 % of the panel's width, written in µm or mm), and each
row a key on its right: the phases' legend, a colour bar, or the IPF note. Everything is
made, measured, then placed, so that no two labels overlap and all lie inside the figure.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from fusion.base import atomic_path
from fusion.schema import WriteError

from ._keys import FONT_SIZE, make_key
from ._layout import Box, RowSizes, layout, panel_box
from ._panels import Panel, Row
from ._units import format_length

__all__ = ["DPI", "SCALE_BAR_GID", "draw", "nice_length", "save_png"]

DPI = 100
SCALE_BAR_GID = "scale-bar"
SCALE_BAR_FRACTION = 0.3
SCALE_BAR_COLOUR = "white"
SCALE_BAR_POINTS = 3.0
SCALE_BAR_LIFT_POINTS = 5.0
"""Height of the bar above the panel's bottom edge; its label sits just above the bar."""
TITLE_PAD_POINTS = 3.0
DRAFT_INCHES = 10.0
"""Side of the figure while its parts are measured (text sizes do not depend on it), before
it takes its laid-out size."""


def draw(rows: list[Row]) -> Figure:
    """A figure with one row of panels per channel."""
    figure = Figure(figsize=(DRAFT_INCHES, DRAFT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)  # the Agg canvas: no display, no pyplot state
    renderer = figure.canvas.get_renderer()
    boxes = [[panel_box(panel.extent) for panel in row.panels] for row in rows]
    grid, keys, sizes = [], [], []
    for row, row_boxes in zip(rows, boxes, strict=True):
        axes = [_draw_panel(figure, p, b, row) for p, b in zip(row.panels, row_boxes, strict=True)]
        key = make_key(figure, row, axes, max((b.height for b in row_boxes), default=0.0))
        titles = [_title_size(ax, renderer) for ax in axes]
        sizes.append(RowSizes(row_boxes, titles, key.size(renderer)))
        grid.append(axes)
        keys.append(key)
    placement = layout(sizes)
    width, height = (math.ceil(inches * DPI) / DPI for inches in placement.size)  # whole pixels
    figure.set_size_inches(width, height)
    for axes, rects in zip(grid, placement.panels, strict=True):
        for ax, (left, bottom, w, h) in zip(axes, rects, strict=True):
            ax.set_position((left / width, bottom / height, w / width, h / height))
    for key, rect in zip(keys, placement.keys, strict=True):
        key.place(rect)
    return figure


def _draw_panel(figure: Figure, panel: Panel, box: Box, row: Row) -> Axes:
    ax = figure.add_axes((0.0, 0.0, box.width / DRAFT_INCHES, box.height / DRAFT_INCHES))
    options = {"extent": panel.extent, "interpolation": "nearest", "aspect": "auto"}
    if row.kind == "scalar":
        vmin, vmax = row.value_range
        ax.imshow(panel.image, cmap="viridis", vmin=vmin, vmax=vmax, **options)
    else:
        ax.imshow(panel.image, **options)
    ax.set_title(_title(panel, box), fontsize=FONT_SIZE, pad=TITLE_PAD_POINTS)
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, abs(panel.extent[1] - panel.extent[0]))
    return ax


def _title(panel: Panel, box: Box) -> str:
    """The panel's title, saying which of its axes is drawn stretched and by how much."""
    if box.stretch == 1:
        return panel.title
    rows, columns = panel.plane
    stretched = rows if box.stretched == "rows" else columns
    return f"{panel.title}, {stretched} stretched ×{box.stretch}"


def _title_size(ax: Axes, renderer) -> tuple[float, float]:
    """(width, height) in inches of the title, its pad above the box included."""
    bbox = ax.title.get_window_extent(renderer)
    return bbox.width / DPI, bbox.height / DPI + TITLE_PAD_POINTS / 72


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``limit`` (> 0).

    >>> nice_length(0.48), nice_length(3.9), nice_length(12.0)
    (0.2, 2.0, 10.0)
    """
    base = 10.0 ** math.floor(math.log10(limit))
    return next(m * base for m in (5, 2, 1) if m * base <= limit * (1 + 1e-12))


def _scale_bar(ax: Axes, width_um: float) -> None:
    """A white bar outlined in black, of a round length in µm (x in data units, y a few points
    above the panel's bottom edge, thickness in points so that it shows on any panel)."""
    length = nice_length(SCALE_BAR_FRACTION * width_um)
    left = min(ax.get_xlim()) + 0.05 * width_um
    edge = blended_transform_factory(ax.transData, ax.transAxes)
    points = ax.figure.dpi_scale_trans

    def lifted(pts: float):
        return edge + ScaledTranslation(0.0, pts / 72, points)

    outline = [patheffects.withStroke(linewidth=2 * SCALE_BAR_POINTS, foreground="black")]
    ax.add_line(Line2D([left, left + length], [0.0, 0.0], transform=lifted(SCALE_BAR_LIFT_POINTS),
                       gid=SCALE_BAR_GID, color=SCALE_BAR_COLOUR, linewidth=SCALE_BAR_POINTS,
                       solid_capstyle="butt",
                       path_effects=[*outline, patheffects.Normal()]))  # fmt: skip
    ax.text(left, 0.0, format_length(length), transform=lifted(2 * SCALE_BAR_LIFT_POINTS),
            ha="left", va="bottom", fontsize=FONT_SIZE, color=SCALE_BAR_COLOUR,
            path_effects=[patheffects.withStroke(linewidth=2, foreground="black")])  # fmt: skip


def save_png(figure: Figure, output: str | os.PathLike[str]) -> Path:
    """Write the figure as a PNG atomically: a temporary sibling, then a rename."""
    path = Path(output)
    try:
        with atomic_path(path) as partial:
            figure.savefig(partial, format="png", dpi=DPI)
    except OSError as err:
        raise WriteError(f"{path}: cannot write the PNG: {err}") from err
    return path
