"""`fusion.show`: panels, phase colours, IPF colours, scale bars, on data with known contents."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from orix.plot import IPFColorKeyTSL
from orix.quaternion import Orientation, symmetry
from orix.vector import Vector3d
from PIL import Image

from fusion.schema import SchemaError, make_example, write
from fusion.show import ShowError, render, show
from fusion.show._figure import DPI, SCALE_BAR_GID, save_png

FLAG_COLORS = ["#e41a1c", "#377eb8", "#4daf4a"]


def labelled_tree(
    shape=(6, 8, 10), voxel_um=(0.2, 0.1, 0.1), extra=None, channel_coords=None
) -> xr.DataTree:
    """One group ``scan`` whose phase is (z + 2y + 3x) % 3 at voxel (z, y, x)."""
    z, y, x = np.indices(shape)
    phase = ((z + 2 * y + 3 * x) % 3).astype(np.uint8)
    coords = {
        dim: (dim, 1.0 + h * np.arange(n), {"units": "um"})
        for dim, n, h in zip(("z", "y", "x"), shape, voxel_um, strict=True)
    } | (channel_coords or {})
    attrs = {
        "long_name": "phase label", "units": "1", "flag_values": [0, 1, 2],
        "flag_meanings": "pore NMC CBD", "flag_colors": FLAG_COLORS,
    }  # fmt: skip
    scan = xr.Dataset({"phase": (("z", "y", "x"), phase, attrs), **(extra or {})}, coords=coords)
    return xr.DataTree.from_dict({"/": xr.Dataset(), "/scan": scan})


def pixel(png: Image.Image, ax, x_um: float, y_um: float) -> tuple[int, int, int]:
    """The PNG's colour at data point (x, y) of axes ``ax`` of the figure it was saved from."""
    column, row_from_bottom = ax.transData.transform((x_um, y_um))
    return png.getpixel((int(column), int(png.height - row_from_bottom)))[:3]


def under_scale_bar(figure, ax, point: tuple[float, float]) -> bool:
    """Whether a data point of ``ax`` lies under its scale bar or the bar's label."""
    renderer = figure.canvas.get_renderer()
    where = ax.transData.transform(point)
    return any(
        artist.get_window_extent(renderer).padded(6).contains(*where)
        for artist in [*ax.lines, *ax.texts]
    )


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def read_png(path) -> Image.Image:
    return Image.open(path).convert("RGB")


def image_axes(figure):
    return [ax for ax in figure.axes if ax.images]


def test_example_has_three_panels_per_channel_and_the_png_its_figure_size(tmp_path):
    store = tmp_path / "demo.zarr"
    write(make_example(size="small"), store)
    shown = show(store, tmp_path / "demo.png")
    assert shown.channels == [
        "/electrode/grayscale", "/electrode/phase", "/particle/composition",
        "/particle/grain_id", "/particle/orientation", "/particle/phase",
    ]  # fmt: skip
    assert shown.panels == 3 * 6
    figure = render(xr.open_datatree(store, engine="zarr"))
    width, height = figure.get_size_inches() * DPI
    assert read_png(shown.path).size == (round(width), round(height))
    only = show(store, tmp_path / "particle.png", groups=["particle"])
    assert only.panels == 3 * 4 and all(c.startswith("/particle/") for c in only.channels)


def test_phase_pixels_take_the_channels_flag_colors(tmp_path):
    tree = labelled_tree()
    figure = render(tree)
    path = save_png(figure, tmp_path / "phases.png")
    png = read_png(path)
    scan = tree["scan"].to_dataset()
    centre = {"z": 3, "y": 4, "x": 5}
    views = image_axes(figure)
    assert [ax.get_title().split()[1:] for ax in views] == [
        ["z", "=", "1.6", "µm"], ["y", "=", "1.4", "µm"], ["x", "=", "1.5", "µm"]
    ]  # fmt: skip
    planes = [("y", "x"), ("z", "x"), ("z", "y")]
    for ax, (rows, cols) in zip(views, planes, strict=True):
        for r in range(scan.sizes[rows]):
            for c in range(scan.sizes[cols]):
                at = centre | {rows: r, cols: c}
                label = int(scan.phase[at["z"], at["y"], at["x"]])
                point = (float(scan[cols][c]), float(scan[rows][r]))
                if under_scale_bar(figure, ax, point):
                    continue
                got = pixel(png, ax, *point)
                assert got == hex_rgb(FLAG_COLORS[label]), (rows, r, cols, c)


def quaternion_tree(quaternion) -> xr.DataTree:
    shape = (6, 8, 10)
    q = np.empty((*shape, 4), np.float32)
    q[...] = quaternion
    q[:, :, :5] = np.nan  # no crystal in the left half
    orientation = xr.Variable(
        ("z", "y", "x", "quat"), q,
        {"units": "1", "rotation": "crystal_to_sample", "crystal_symmetry": {"NMC": "-3m"}},
    )  # fmt: skip
    return labelled_tree(
        shape, extra={"orientation": orientation}, channel_coords={"quat": list("wxyz")}
    )


def rotation_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """R of a unit quaternion (Hamilton): v_sample = R v_crystal for crystal-to-sample."""
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


GENERIC = tuple(np.array([0.9, 0.3, 0.2, 0.25]) / np.linalg.norm([0.9, 0.3, 0.2, 0.25]))


@pytest.mark.parametrize("quaternion", [(1.0, 0.0, 0.0, 0.0), GENERIC], ids=["identity", "generic"])
def test_orientation_pixels_take_the_ipf_colour_of_the_crystal_direction_along_sample_z(
    tmp_path, quaternion
):
    figure = render(quaternion_tree(quaternion), groups=["scan"])
    png = read_png(save_png(figure, tmp_path / "ipf.png"))
    key = IPFColorKeyTSL(symmetry.D3d, direction=Vector3d.zvector()).direction_color_key
    rotation = rotation_matrix(*quaternion)
    expected = key.direction2color(Vector3d(rotation.T @ [0, 0, 1]))[0]  # R⁻¹ z, in the crystal
    if quaternion == GENERIC:  # the colour tells the rotation from its inverse
        assert np.abs(key.direction2color(Vector3d(rotation @ [0, 0, 1]))[0] - expected).max() > 0.1
    else:  # and is orix's own colour of the identity orientation
        identity = Orientation.identity()
        identity.symmetry = symmetry.D3d
        colour = IPFColorKeyTSL(symmetry.D3d).orientation2color(identity)[0]
        np.testing.assert_allclose(colour, expected)
    top_view = image_axes(figure)[3]  # row 2 (orientation after phase), the z view
    assert top_view.get_title().startswith("/scan/orientation")
    crystal = pixel(png, top_view, 1.8, 1.3)  # x index 8: oriented
    np.testing.assert_allclose(crystal, np.round(expected * 255), atol=1)
    assert pixel(png, top_view, 1.2, 1.3) == (255, 255, 255)  # x index 2: NaN, background


def test_scale_bar_is_a_round_number_of_micrometres_at_the_panels_scale(tmp_path):
    figure = render(labelled_tree(shape=(6, 40, 40)))  # x spans 4 µm: a 1 µm bar
    png = read_png(save_png(figure, tmp_path / "bar.png"))
    ax = image_axes(figure)[0]
    (bar,) = [line for line in ax.lines if line.get_gid() == SCALE_BAR_GID]
    (x0, x1), (y, _) = bar.get_xdata(), bar.get_ydata()
    assert x1 - x0 == pytest.approx(1.0)
    assert ax.texts[0].get_text() == "1 µm"
    left, right = ax.get_xlim()
    pixels_per_um = ax.bbox.width / (right - left)
    start, middle = bar.get_transform().transform([(x0, y), ((x0 + x1) / 2, y)])
    row = round(png.height - middle[1])
    white = [png.getpixel((c, row)) == (255, 255, 255) for c in range(png.width)]
    inside = [c for c in range(round(start[0]) - 3, png.width) if white[c]]
    run = next(i for i, c in enumerate(inside) if c != inside[0] + i)
    assert run == pytest.approx(pixels_per_um * 1.0, abs=1.5)


def test_scalar_rows_have_a_colour_bar_with_units_and_compositions_their_varying_element():
    shape = (6, 8, 10)
    rng = np.random.default_rng(0)
    fractions = np.zeros((*shape, 3), np.float32)
    fractions[..., 0] = 0.25  # Li constant
    fractions[..., 1] = rng.uniform(0, 0.3, shape)  # Ni varies
    fractions[..., 2] = 0.5 + 0.01 * rng.uniform(0, 1, shape)  # O barely
    extra = {
        "composition": (("z", "y", "x", "element"), fractions,
                        {"long_name": "atomic fraction", "units": "1"}),
        "grey": (("z", "y", "x"), rng.uniform(0, 5, shape),
                 {"long_name": "intensity", "units": "counts"}),
    }  # fmt: skip
    figure = render(
        labelled_tree(shape, extra=extra, channel_coords={"element": ["Li", "Ni", "O"]})
    )
    bars = [ax.get_ylabel() for ax in figure.axes if not ax.images and ax.get_ylabel()]
    assert bars == ["Ni atomic fraction [1]", "intensity [counts]"]


def test_a_single_image_has_one_view(tmp_path):
    figure = render(labelled_tree(shape=(1, 8, 10)))
    assert [ax.get_title().split()[1] for ax in image_axes(figure)] == ["z"]


def test_index_moves_the_cuts_and_is_checked():
    figure = render(labelled_tree(), index=(0, 7, 9))
    assert [ax.get_title().split()[-2] for ax in image_axes(figure)] == ["1", "1.7", "1.9"]
    with pytest.raises(ShowError, match=r"--index 0,8,0 is outside the volume: .* \(6, 8, 10\)"):
        render(labelled_tree(), index=(0, 8, 0))


def test_nothing_to_draw_is_a_clear_error():
    empty = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"title": "x"})})
    with pytest.raises(SchemaError, match="no voxel channels"):
        render(empty, source="empty.zarr")
    with pytest.raises(SchemaError, match=r"group 'nope' has no voxel channels; .*\['/scan'\]"):
        render(labelled_tree(), groups=["nope"])


def test_opens_any_fsspec_url(tmp_path):
    url = "memory://show/demo.zarr"
    write(make_example(size="tiny"), url)
    shown = show(url, tmp_path / "tiny.png", groups=["/electrode"])
    assert shown.channels == ["/electrode/grayscale", "/electrode/phase"]
    assert read_png(shown.path).size[0] > 0


def test_a_group_without_coordinates_cannot_be_placed():
    tree = labelled_tree()
    bare = tree["scan"].to_dataset().drop_vars("y")
    with pytest.raises(SchemaError, match="group /scan has no y coordinate: voxel positions"):
        render(xr.DataTree.from_dict({"/scan": bare}), source="bare.zarr")
