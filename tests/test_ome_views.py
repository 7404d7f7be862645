"""The OME-Zarr views of what users write most (#22 must-show): `fusion example` and a 256³
`fusion generate model:slicegan-nmc`, checked with the real clients (ome-zarr-models for 0.5,
ome-zarr-py's Reader) while the datasets themselves open in plain xarray as before."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models.v05.image import Image
from ome_zarr_models.v05.image_label import ImageLabel

from fusion.models import generate
from fusion.schema import make_example, validate, write
from fusion.schema.ome import export_ome_zarr
from fusion.schema.ome._metadata import TAB10


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("views")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(tmp / "cache"))
        generated = generate("model:slicegan-nmc", (256, 256, 256), seed=3, device="cpu")
    stores = {"example": make_example(size="small"), "generated": generated}
    out = {}
    for name, tree in stores.items():
        write(tree, tmp / f"{name}.zarr")
        before = xr.open_datatree(tmp / f"{name}.zarr", engine="zarr")
        export_ome_zarr(tmp / f"{name}.zarr", tmp / f"{name}.ome.zarr")
        out[name] = (tmp / f"{name}.zarr", tmp / f"{name}.ome.zarr", before)
    return out


@pytest.mark.parametrize("name", ["example", "generated"])
def test_every_ome_group_is_0_5_and_read_at_its_voxel_size(views, name):
    dataset, view, before = views[name]
    record = zarr.open_group(view, mode="r").attrs["fusion_ome_view"]
    group = zarr.open_group(view, mode="r")
    for path, image in record["images"].items():
        (ImageLabel if image["role"] == "label" else Image).from_zarr(group[path])
        node = next(iter(Reader(parse_url(str(view / path)))()))
        voxel = before[image["group"]].to_dataset().fusion.voxel_size_um
        scale = node.metadata["coordinateTransformations"][0][0]["scale"][-3:]
        assert scale == pytest.approx(list(voxel)), path
        assert [a["unit"] for a in node.metadata["axes"] if a["type"] == "space"] == [
            "micrometer"
        ] * 3
    assert validate(view, level="data").ok
    after = xr.open_datatree(dataset, engine="zarr")  # plain xarray: unchanged
    xr.testing.assert_identical(after, before)


@pytest.mark.parametrize("name", ["example", "generated"])
def test_phase_is_a_coloured_label_image_equal_to_the_channel(views, name):
    _, view, before = views[name]
    record = zarr.open_group(view, mode="r").attrs["fusion_ome_view"]
    phases = [p for p, i in record["images"].items() if i["channel"] == "phase"]
    assert phases
    for path in phases:
        group = record["images"][path]["group"]
        channel = before[group]["phase"]
        nodes = list(Reader(parse_url(str(view / path)))())
        label = next(n for n in nodes if n.metadata.get("name") == "phase")
        np.testing.assert_array_equal(label.data[0].compute(), channel.values)
        palette = channel.attrs.get("flag_colors") or TAB10  # fusion show's colours too
        for i, value in enumerate(channel.attrs["flag_values"]):
            colour = palette[i]
            rgb = [int(colour[j : j + 2], 16) / 255 for j in (1, 3, 5)]
            assert label.metadata["color"][value] == pytest.approx([*rgb, 1.0])


def test_the_256_cube_has_two_levels(views):
    _, view, _ = views["generated"]
    record = zarr.open_group(view, mode="r").attrs["fusion_ome_view"]
    (path,) = record["images"]
    assert record["images"][path]["levels"] == 2
    level1 = zarr.open_array(view / path / "1", mode="r")
    assert level1.shape == (128, 128, 128)


def test_labels_without_colours_get_the_colours_fusion_show_draws():
    from matplotlib import colors

    from fusion.show._colours import label_legend

    legend = label_legend({"flag_values": list(range(10)), "flag_meanings": " ".join("abcdefghij")})
    assert [colors.to_hex(rgb) for _, _, rgb in legend] == list(TAB10)


def test_a_writer_writes_the_view_too_when_asked(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FUSION_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "generate", "model:slicegan-nmc", "--shape", "64",
         "64", "64", "-o", str(tmp_path / "g.zarr"), "--ome-zarr", str(tmp_path / "g.ome.zarr")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OME-Zarr 0.5 view, 1 image(s)" in done.stdout
    assert validate(tmp_path / "g.ome.zarr", level="data").ok
    assert validate(tmp_path / "g.zarr", level="data").ok
