"""Draw rows of slices into one matplotlib Figure (Agg, no pyplot) and save it as a PNG.

One row per channel, one column per view; every panel has a scale bar in µm in its lower left
corner (its length the largest 1, 2 or 5 × 10ⁿ µm within 30 % of the panel's width), and each
row a key on its right: the phases' legend, a colour bar, or the IPF note.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from fusion.base import atomic_path
from fusion.schema import WriteError

from ._panels import VIEWS, Panel, Row

__all__ = ["DPI", "SCALE_BAR_GID", "draw", "nice_length", "save_png"]

DPI = 100
PANEL_INCHES = 2.6
KEY_INCHES = 2.2
SCALE_BAR_GID = "scale-bar"
SCALE_BAR_FRACTION = 0.3
SCALE_BAR_COLOUR = "white"
SCALE_BAR_POINTS = 3.0


def draw(rows: list[Row]) -> Figure:
    """A figure with one row of panels per channel."""
    figure = Figure(
        figsize=(len(VIEWS) * PANEL_INCHES + KEY_INCHES, PANEL_INCHES * len(rows)),
        dpi=DPI,
        layout="constrained",
    )
    FigureCanvasAgg(figure)  # the Agg canvas: no display, no pyplot state
    grid = figure.subplots(len(rows), len(VIEWS), squeeze=False)
    for row, axes in zip(rows, grid, strict=True):
        for position, ax in enumerate(axes):
            if position < len(row.panels):
                _draw_panel(ax, row.panels[position], row)
            else:
                ax.set_axis_off()
        _draw_key(figure, row, axes[: len(row.panels)])
    return figure


def _draw_panel(ax, panel: Panel, row: Row) -> None:
    if row.kind == "scalar":
        vmin, vmax = row.value_range
        ax.imshow(panel.image, extent=panel.extent, interpolation="nearest",
                  cmap="viridis", vmin=vmin, vmax=vmax)  # fmt: skip
    else:
        ax.imshow(panel.image, extent=panel.extent, interpolation="nearest")
    ax.set_title(panel.title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, abs(panel.extent[1] - panel.extent[0]))


def _draw_key(figure: Figure, row: Row, axes) -> None:
    if not row.panels:
        return
    if row.kind == "scalar":
        figure.colorbar(axes[0].images[0], ax=list(axes), label=row.label, shrink=0.9)
        return
    handles = [Patch(facecolor=rgb, edgecolor="black", label=f"{value} {meaning}")
               for value, meaning, rgb in row.legend]  # fmt: skip
    axes[-1].legend(handles=handles, title=row.label, loc="center left",
                    bbox_to_anchor=(1.02, 0.5), fontsize=7, title_fontsize=7)  # fmt: skip


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``limit`` (> 0).

    >>> nice_length(0.48), nice_length(3.9), nice_length(12.0)
    (0.2, 2.0, 10.0)
    """
    base = 10.0 ** math.floor(math.log10(limit))
    return next(m * base for m in (5, 2, 1) if m * base <= limit * (1 + 1e-12))


def _scale_bar(ax, width_um: float) -> None:
    """A white bar outlined in black, of a round length in µm (x in data units, y in axes
    fractions, thickness in points so that it shows on any panel)."""
    length = nice_length(SCALE_BAR_FRACTION * width_um)
    left = min(ax.get_xlim()) + 0.05 * width_um
    where = blended_transform_factory(ax.transData, ax.transAxes)
    outline = [patheffects.withStroke(linewidth=2 * SCALE_BAR_POINTS, foreground="black")]
    ax.add_line(Line2D([left, left + length], [0.07, 0.07], transform=where, gid=SCALE_BAR_GID,
                       color=SCALE_BAR_COLOUR, linewidth=SCALE_BAR_POINTS, solid_capstyle="butt",
                       path_effects=[*outline, patheffects.Normal()]))  # fmt: skip
    ax.text(left + length / 2, 0.11, f"{length:g} µm", transform=where, ha="center",
            va="bottom", fontsize=7, color=SCALE_BAR_COLOUR,
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
