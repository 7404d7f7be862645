"""`fusion show`'s layout: panels of their slice's physical aspect, every label readable.

Checked on the laid-out figure itself: the bounding boxes of every text matplotlib draws, and of
every panel's axes, in the pixels of the saved PNG.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import xarray as xr
from matplotlib.text import Text

from fusion.show import render
from fusion.show._figure import DPI
from fusion.show._layout import MAX_ELONGATION

LONG_NAME = "reconstructed X-ray attenuation (grey value), filtered and rescaled"


def scale_group(shape, voxel_um, origin_um, variables) -> xr.Dataset:
    coords = {
        dim: (dim, o + h * np.arange(n), {"units": "um"})
        for dim, n, h, o in zip("zyx", shape, voxel_um, origin_um, strict=True)
    }
    return xr.Dataset(variables, coords=coords)


def labels(shape, meanings: str, seed: int) -> tuple:
    values = list(range(len(meanings.split())))
    data = np.random.default_rng(seed).integers(0, len(values), shape).astype(np.uint8)
    attrs = {"long_name": "labels", "units": "1", "flag_values": values, "flag_meanings": meanings}
    return ("z", "y", "x"), data, attrs


def fused_like() -> xr.DataTree:
    """The shapes of the reference recipe's groups, small: a thin XCT slab with a long-named
    grey value in the millions, a 0.17 µm particle 12 mm off the origin with two label
    channels, a single SEM image with its intensity and phases."""
    thin = (10, 100, 100)
    grey = np.random.default_rng(0).uniform(1e6, 3e6, thin)
    electrode = scale_group(thin, (33.97,) * 3, (0.0,) * 3, {
        "grayscale": (("z", "y", "x"), grey, {"long_name": LONG_NAME, "units": "1"}),
    })  # fmt: skip
    cube = (16, 16, 16)
    particle = scale_group(cube, (0.17,) * 3, (140.0, 12350.0, 19150.0), {
        "phase": labels(cube, "pore NMC CBD", 1),
        "spectrum_id": labels(cube, "none NMC", 2),
    })  # fmt: skip
    image = (1, 40, 60)
    sem = scale_group(image, (2.6,) * 3, (0.0,) * 3, {
        "intensity": (("z", "y", "x"), np.arange(2400.0).reshape(image), {"units": "1"}),
        "phase": labels(image, "a b", 3),
    })  # fmt: skip
    return xr.DataTree.from_dict(
        {"/": xr.Dataset(), "/electrode": electrode, "/particle": particle, "/sem": sem}
    )


@pytest.fixture
def drawn(monkeypatch):
    """``drawn(figure)``: each text drawn in the saved figure and its bounding box in pixels."""
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen.append((self, self.get_window_extent(renderer)))

    monkeypatch.setattr(Text, "draw", draw)
    seen: list = []

    def texts(figure):
        seen.clear()
        figure.canvas.draw()
        return list(seen)

    return texts


def image_axes(figure):
    return [ax for ax in figure.axes if ax.images]


def assert_readable(figure, texts) -> None:
    """No two texts overlap, none leaves the figure, none lies on another panel."""
    bounds = figure.bbox
    for text, box in texts:
        assert bounds.x0 <= box.x0 and box.x1 <= bounds.x1, text.get_text()
        assert bounds.y0 <= box.y0 and box.y1 <= bounds.y1, text.get_text()
        for ax in image_axes(figure):
            if ax is not text.axes:
                assert not box.shrunk(0.98, 0.98).overlaps(ax.bbox), (
                    text.get_text(),
                    ax.get_title(),
                )
    for i, (text, box) in enumerate(texts):
        for other, other_box in texts[i + 1 :]:
            assert not box.shrunk(0.98, 0.98).overlaps(other_box), (
                text.get_text(),
                other.get_text(),
            )


def test_no_label_overlaps_another_or_leaves_the_figure(drawn):
    figure = render(fused_like())
    texts = drawn(figure)
    assert len(texts) > 30
    assert_readable(figure, texts)


def test_positions_and_numbers_are_plain_µm_or_mm(drawn):
    figure = render(fused_like())
    strings = [text.get_text() for text, _ in drawn(figure)]
    assert not [s for s in strings if re.search(r"\d[eE][+-]?\d|10\^", s)]
    titles = [ax.get_title().splitlines()[1] for ax in image_axes(figure)]
    assert titles[:6] == [
        "z = 170 µm", "y = 1.7 mm, z stretched ×2", "x = 1.7 mm, z stretched ×2",
        "z = 141.4 µm", "y = 12.3514 mm", "x = 19.1514 mm",
    ]  # fmt: skip
    assert "1 mm" in strings  # the slab's scale bars
    assert "2000000" in strings  # a colour bar's tick, written out


def test_panels_take_their_slices_aspect_and_thin_ones_stay_legible(drawn):
    figure = render(fused_like())
    texts = drawn(figure)
    for ax in image_axes(figure):
        (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
        aspect = abs(right - left) / abs(top - bottom)
        shown = ax.bbox.width / ax.bbox.height
        stretch = re.search(r"stretched ×(\d+)", ax.get_title())
        if stretch:
            assert shown == pytest.approx(aspect / int(stretch[1]), rel=0.02)
            assert shown <= MAX_ELONGATION * 1.02
        else:
            assert shown == pytest.approx(aspect, rel=0.02)
        assert min(ax.bbox.width, ax.bbox.height) >= 0.4 * DPI, ax.get_title()
        for text, box in texts:
            if text in ax.texts:  # the scale bar's label lies inside its panel
                assert ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)


def test_columns_and_keys_leave_no_wide_gaps():
    figure = render(fused_like())
    figure.canvas.draw()  # as saving it does
    rows: dict[str, list] = {}
    for ax in image_axes(figure):  # a row per channel, its path first in each title
        rows.setdefault(ax.get_title().split()[0], []).append(ax.bbox)
    for path, boxes in rows.items():
        boxes.sort(key=lambda box: box.x0)
        gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(boxes)]
        assert all(0 < gap <= 0.5 * DPI for gap in gaps), (path, gaps)
    right = max(ax.bbox.x1 for ax in image_axes(figure))
    assert figure.bbox.width - right <= 2.5 * DPI


def test_the_legend_of_a_label_channel_is_titled_by_the_channel(drawn):
    figure = render(fused_like(), groups=["particle", "sem"])
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend())]
    titles = [legend.get_title().get_text() for legend in legends]
    assert titles == ["phase", "spectrum_id", "phase"]


def test_the_real_xct_slab_is_readable(drawn, instruments):
    """The reference recipe's electrode group: ten slices of 728² voxels of 33.97 µm."""
    loaders = pytest.importorskip("fusion.loaders")
    tree = loaders.load("xct", instruments / "xct" / "cylindrical_cell_slices", voxel_size_um=33.97)
    figure = render(tree)
    texts = drawn(figure)
    assert_readable(figure, texts)
    views = image_axes(figure)
    assert [ax.get_title().splitlines()[1] for ax in views] == [
        "z = 170 µm", "y = 12.37 mm, z stretched ×15", "x = 12.37 mm, z stretched ×15",
    ]  # fmt: skip
    assert all(min(ax.bbox.width, ax.bbox.height) >= 0.4 * DPI for ax in views)
