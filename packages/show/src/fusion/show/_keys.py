"""Each row's key: the legend of a label channel, the colour bar of a scalar one, the IPF note
of an orientation one. A key is made first, measured, then placed where the layout says.

Colour-bar labels are wrapped onto as many lines as keep them within the bar's height; tick
labels are plain numbers (no offset, no 1e+04 notation).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter

from ._panels import Row

__all__ = ["COLORBAR_INCHES", "FONT_SIZE", "Key", "make_key"]

FONT_SIZE = 7
COLORBAR_INCHES = 0.12
"""Width of a colour bar."""
COLORBAR_FRACTION = 0.9
"""Height of a colour bar, as a fraction of the row's tallest panel."""
COLORBAR_MIN_INCHES = 1.2
MIN_WRAP = 12
"""Fewest characters per line a colour-bar label is wrapped to."""


@dataclass
class Key:
    """A made key: a figure legend, or a colour bar's axes of a fixed size in inches."""

    legend: Legend | None = None
    colorbar: Axes | None = None
    colorbar_height: float = 0.0

    def size(self, renderer: RendererBase) -> tuple[float, float]:
        """(width, height) in inches, labels included."""
        figure = self._figure()
        if figure is None:
            return 0.0, 0.0
        if self.legend is not None:
            bbox = self.legend.get_window_extent(renderer)
            return bbox.width / figure.dpi, bbox.height / figure.dpi
        self.place((0.0, 0.0, 0.0, self.colorbar_height))
        _wrap_label(self.colorbar, self.colorbar_height * figure.dpi, renderer)
        bbox = self.colorbar.get_tightbbox(renderer)
        return bbox.x1 / figure.dpi, max(bbox.height / figure.dpi, self.colorbar_height)

    def place(self, rect: tuple[float, float, float, float]) -> None:
        """Move the key to ``rect`` (left, bottom, width, height) in inches."""
        figure = self._figure()
        if figure is None:
            return
        width, height = figure.get_size_inches()
        left, bottom, _, key_height = rect
        if self.legend is not None:
            self.legend.set_bbox_to_anchor(
                (left / width, (bottom + key_height / 2) / height), transform=figure.transFigure
            )
            return
        bottom += (key_height - self.colorbar_height) / 2
        self.colorbar.set_position(
            (left / width, bottom / height, COLORBAR_INCHES / width, self.colorbar_height / height)
        )

    def _figure(self) -> Figure | None:
        artist = self.legend if self.legend is not None else self.colorbar
        return None if artist is None else artist.figure


def make_key(figure: Figure, row: Row, axes: list[Axes], tallest: float) -> Key:
    """The key of ``row`` whose panels are ``axes``, the tallest ``tallest`` inches high."""
    if not row.panels:
        return Key()
    if row.kind == "scalar":
        height = max(COLORBAR_MIN_INCHES, COLORBAR_FRACTION * tallest)
        cax = figure.add_axes((0.0, 0.0, 0.01, 0.01))
        bar = figure.colorbar(axes[0].images[0], cax=cax, label=row.label)
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        bar.formatter = formatter
        cax.tick_params(labelsize=FONT_SIZE)
        cax.yaxis.label.set_fontsize(FONT_SIZE)
        return Key(colorbar=cax, colorbar_height=height)
    handles = [Patch(facecolor=rgb, edgecolor="black", label=f"{value} {meaning}")
               for value, meaning, rgb in row.legend]  # fmt: skip
    legend = figure.legend(handles=handles, title=row.label, loc="center left",
                           borderaxespad=0.0, fontsize=FONT_SIZE,
                           title_fontsize=FONT_SIZE)  # fmt: skip
    return Key(legend=legend)


def _wrap_label(cax: Axes, room: float, renderer: RendererBase) -> None:
    """Wrap the colour bar's label onto lines no longer than ``room`` pixels."""
    label = cax.yaxis.label
    text = " ".join(label.get_text().split())
    for width in range(len(text), MIN_WRAP - 1, -1):
        label.set_text(textwrap.fill(text, width))
        if label.get_window_extent(renderer).height <= room:
            return
