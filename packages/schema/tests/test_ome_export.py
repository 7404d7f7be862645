"""`fusion export ome-zarr`: the OME-Zarr 0.5 view, read by real OME clients (ome-zarr-models,
ome-zarr-py), its pyramids computed independently here, and the validator's ome.* findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models.v05.image import Image
from ome_zarr_models.v05.image_label import ImageLabel
from ome_zarr_models.v05.labels import Labels

from fusion.schema import SchemaError, WriteError, make_example, validate, write
from fusion.schema.ome import export_ome_zarr, level_shapes, reduce_block
from fusion.schema.provenance import add_activity, new_root

VOXEL_UM = 0.25
ORIGIN_UM = (1.0, -2.0, 0.5)
SHAPE = (9, 37, 301)  # x over 256: two levels, every axis odd
FLAGS = [0, 1, 2]
COLOURS = ["#000000", "#ff0000", "#00ff0080"]


def wide_tree(rng: np.random.Generator) -> xr.DataTree:
    """A grey channel, a phase label and a 4-D composition on a 9×37×301 grid."""
    grey = rng.normal(size=SHAPE).astype(np.float32)
    phase = rng.choice(np.array(FLAGS, np.uint8), size=SHAPE, p=[0.2, 0.5, 0.3])
    composition = rng.uniform(size=(*SHAPE, 2)).astype(np.float32)
    base = {"units": "1", "modality": "XCT", "origin": "measured", "provenance": "make"}
    coords = {
        d: (d, o + VOXEL_UM * np.arange(n), {"units": "um"})
        for d, n, o in zip("zyx", SHAPE, ORIGIN_UM, strict=True)
    }
    coords["element"] = ("element", np.array(["Ni", "Mn"], dtype=object))
    group = xr.Dataset(
        {
            "grey": (("z", "y", "x"), grey, {**base, "long_name": "attenuation"}),
            "phase": (
                ("z", "y", "x"),
                phase,
                {
                    **base,
                    "long_name": "phase label",
                    "flag_values": FLAGS,
                    "flag_meanings": "pore NMC CBD",
                    "flag_colors": COLOURS,
                },
            ),
            "composition": (
                ("z", "y", "x", "element"),
                composition,
                {**base, "long_name": "fraction", "modality": "EDS"},
            ),
        },
        coords=coords,
    )
    now = "2026-01-01T00:00:00+00:00"
    root = new_root("wide", created=now)
    add_activity(root, "derive", activity_id="make", software=("tests", "1"), started=now,
                 ended=now, generated=[f"/wide/{k}" for k in group.data_vars])  # fmt: skip
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"fusion": root}), "/wide": group})


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> tuple[Path, Path, xr.DataTree]:
    folder = tmp_path_factory.mktemp("wide")
    tree = wide_tree(np.random.default_rng(7))
    write(tree, folder / "wide.zarr")
    export_ome_zarr(folder / "wide.zarr", folder / "wide.ome.zarr")
    return folder / "wide.zarr", folder / "wide.ome.zarr", tree


def block_reduce(values: np.ndarray, how: str) -> np.ndarray:
    """The next level by explicit loops over 2×2×2 blocks (axes of length 1 kept)."""
    step = [2 if n > 1 else 1 for n in values.shape]
    out = np.empty([-(-n // s) for n, s in zip(values.shape, step, strict=True)], values.dtype)
    for index in np.ndindex(*out.shape):
        block = values[tuple(slice(i * s, i * s + s) for i, s in zip(index, step, strict=True))]
        flat = block.ravel()
        if how == "mean":
            finite = flat[np.isfinite(flat)]
            out[index] = finite.astype(np.float64).mean() if finite.size else np.nan
        else:
            counts = [(flat == v).sum() for v in FLAGS]
            out[index] = FLAGS[int(np.argmax(counts))]
    return out


def test_every_group_is_valid_ome_zarr_0_5(wide):
    _, view, _ = wide
    group = zarr.open_group(view, mode="r")
    image = Image.from_zarr(group["wide/grey"])
    assert [d.path for d in image.attributes.ome.multiscales[0].datasets] == ["0", "1"]
    Image.from_zarr(group["wide/composition"])
    labels = Labels.from_zarr(group["wide/grey/labels"])
    assert labels.attributes.ome.labels == ["phase"]
    label = ImageLabel.from_zarr(group["wide/grey/labels/phase"]).attributes.ome.image_label
    assert [(c.label_value, c.rgba) for c in label.colors] == [
        (0, (0, 0, 0, 255)), (1, (255, 0, 0, 255)), (2, (0, 255, 0, 128))]  # fmt: skip
    assert [p.model_extra["name"] for p in label.properties] == ["pore", "NMC", "CBD"]
    assert validate(view, level="data").ok


def test_ome_zarr_py_reads_the_voxel_size_and_labels(wide):
    _, view, tree = wide
    nodes = list(Reader(parse_url(str(view / "wide" / "grey")))())
    grey, label = nodes[0], next(n for n in nodes if n.metadata.get("name") == "phase")
    for node in (grey, label):
        assert [a["unit"] for a in node.metadata["axes"]] == ["micrometer"] * 3
        scales = [t[0]["scale"] for t in node.metadata["coordinateTransformations"]]
        assert scales == [[VOXEL_UM] * 3, [VOXEL_UM * 2] * 3]
        shifts = [t[1]["translation"] for t in node.metadata["coordinateTransformations"]]
        assert np.allclose(shifts[0], ORIGIN_UM)
        assert np.allclose(shifts[1], np.array(ORIGIN_UM) + VOXEL_UM / 2)  # block centres
    assert [tuple(d.shape) for d in label.data] == level_shapes(SHAPE)
    np.testing.assert_array_equal(label.data[0].compute(), tree["wide"]["phase"].values)
    assert label.metadata["color"][1] == [1.0, 0.0, 0.0, 1.0]


def test_levels_are_the_block_mode_and_mean(wide):
    _, view, tree = wide
    group = zarr.open_group(view, mode="r")
    phase, grey = tree["wide"]["phase"].values, tree["wide"]["grey"].values
    expected_phase = block_reduce(phase, "mode")
    np.testing.assert_array_equal(group["wide/grey/labels/phase/1"][:], expected_phase)
    expected_grey = block_reduce(grey, "mean")
    np.testing.assert_allclose(group["wide/grey/1"][:], expected_grey, rtol=1e-6)


def test_reductions_of_odd_blocks_with_nan_and_ties():
    rng = np.random.default_rng(3)
    grey = rng.normal(size=(5, 1, 7)).astype(np.float32)
    grey[0, 0, :2] = np.nan  # a block of NaN only, and NaN beside finite values
    grey[2, 0, 0] = np.nan
    halve = [True, False, True]
    np.testing.assert_allclose(reduce_block(grey, halve, "mean"), block_reduce(grey, "mean"))
    labels = rng.choice(np.array(FLAGS, np.uint8), size=(5, 3, 7))
    np.testing.assert_array_equal(
        reduce_block(labels, [True] * 3, "mode", FLAGS), block_reduce(labels, "mode")
    )
    ids = rng.integers(0, 40, size=(7, 5, 3)).astype(np.uint16)  # no flags: sorted counting
    sorted_mode = reduce_block(ids, [True] * 3, "mode")
    for index in np.ndindex(*sorted_mode.shape):
        block = ids[tuple(slice(2 * i, 2 * i + 2) for i in index)].ravel()
        values, counts = np.unique(block, return_counts=True)
        assert sorted_mode[index] == values[counts.argmax()]  # ties: the smallest value


def test_a_fourth_dimension_goes_first(wide):
    _, view, tree = wide
    group = zarr.open_group(view, mode="r")
    level0 = group["wide/composition/0"]
    assert level0.metadata.dimension_names == ("c", "z", "y", "x")
    np.testing.assert_array_equal(level0[:], np.moveaxis(tree["wide"]["composition"].values, 3, 0))
    record = group.attrs["fusion_ome_view"]
    assert record["groups"]["wide"]["channel_values"]["element"] == ["Ni", "Mn"]


def test_level_zero_is_copied_not_reencoded_and_the_dataset_is_untouched(wide):
    source, view, _ = wide
    chunk = next((source / "wide" / "grey" / "c").rglob("*"))
    while chunk.is_dir():
        chunk = next(chunk.iterdir())
    relative = chunk.relative_to(source / "wide" / "grey")
    assert (view / "wide" / "grey" / "0" / relative).read_bytes() == chunk.read_bytes()
    before = xr.open_datatree(source, engine="zarr")
    assert sorted(before.children) == ["wide"]
    assert sorted(before["wide"].data_vars) == ["composition", "grey", "phase"]
    assert validate(source, level="data").ok


def test_the_example_view_validates_and_labels_without_a_grey_parent_stand_alone(tmp_path):
    write(make_example(size="small"), tmp_path / "ex.zarr")
    export_ome_zarr(tmp_path / "ex.zarr", tmp_path / "ex.ome.zarr")
    group = zarr.open_group(tmp_path / "ex.ome.zarr", mode="r")
    for path in ("particle/phase", "particle/grain_id", "electrode/grayscale/labels/phase"):
        ImageLabel.from_zarr(group[path])
    assert "source" not in group["particle/phase"].attrs["ome"]["image-label"]
    orientation = group["particle/orientation"].attrs["ome"]["multiscales"][0]
    assert orientation["type"] == "stride"
    assert validate(tmp_path / "ex.ome.zarr", level="data").ok


def _tampered(wide, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "view.ome.zarr"
    shutil.copytree(wide[1], copy)
    return copy


def _edit_attrs(path: Path, edit) -> None:
    document = json.loads(path.read_text())
    edit(document["attributes"])
    path.write_text(json.dumps(document))


def test_validator_names_a_wrong_scale(wide, tmp_path):
    view = _tampered(wide, tmp_path)

    def double(attrs):
        attrs["ome"]["multiscales"][0]["datasets"][1]["coordinateTransformations"][0]["scale"][
            2
        ] *= 2

    _edit_attrs(view / "wide" / "grey" / "zarr.json", double)
    report = validate(view)
    assert [(f.code, f.path) for f in report.errors] == [("ome.scale", "/wide/grey/1")]
    assert "0.5" in report.errors[0].message  # the scale the coordinates give


def test_validator_names_a_missing_level(wide, tmp_path):
    import shutil

    view = _tampered(wide, tmp_path)
    shutil.rmtree(view / "wide" / "grey" / "labels" / "phase" / "1")
    report = validate(view)
    assert ("ome.missing-level", "/wide/grey/labels/phase/1") in [
        (f.code, f.path) for f in report.errors
    ]

    def one_level(attrs):
        attrs["ome"]["multiscales"][0]["datasets"] = attrs["ome"]["multiscales"][0]["datasets"][:1]

    _edit_attrs(view / "wide" / "grey" / "zarr.json", one_level)
    codes = {(f.code, f.path) for f in validate(view).errors}
    assert ("ome.missing-level", "/wide/grey") in codes


def test_validator_names_a_level_whose_values_are_wrong(wide, tmp_path):
    view = _tampered(wide, tmp_path)
    level = zarr.open_array(view / "wide" / "grey" / "labels" / "phase" / "1", mode="r+")
    values = level[:]
    values[2, 3, 4] = (values[2, 3, 4] + 1) % 3
    level[:] = values
    assert validate(view, level="metadata").ok
    report = validate(view, level="data")
    assert [(f.code, f.path) for f in report.errors] == [
        ("ome.level-values", "/wide/grey/labels/phase/1")
    ]


def test_refusals_leave_what_was_there(wide, tmp_path):
    source, view, _ = wide
    with pytest.raises(WriteError, match="exists; pass overwrite=True"):
        export_ome_zarr(source, view)
    with pytest.raises(WriteError, match="zip"):
        export_ome_zarr(source, tmp_path / "view.zip")
    broken = tmp_path / "broken.zarr"
    import shutil

    shutil.copytree(source, broken)
    _edit_attrs(broken / "wide" / "grey" / "zarr.json", lambda a: a.pop("units"))
    with pytest.raises(SchemaError, match=r"broken\.zarr"):
        export_ome_zarr(broken, tmp_path / "never.ome.zarr")
    assert not (tmp_path / "never.ome.zarr").exists()
    assert validate(view, level="data").ok


def test_a_view_can_be_written_to_a_url(wide):
    source, _, _ = wide
    result = export_ome_zarr(source, "memory://views/wide.ome.zarr")
    assert result.images["wide/grey/labels/phase"] == 2
    assert validate("memory://views/wide.ome.zarr", level="data").ok


def test_the_command(wide, tmp_path):
    source, _, _ = wide
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "export", "ome-zarr", str(source),
         "-o", str(tmp_path / "cli.ome.zarr")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wide/grey/labels/phase (2 levels)" in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "export", "ome-zarr", str(source),
         "-o", str(tmp_path / "cli.ome.zarr")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_blocks_are_reduced_in_slabs_to_the_same_values():
    from fusion.schema.ome._export import SLAB_PLANES, _reduce_in_slabs

    rng = np.random.default_rng(5)
    labels = rng.choice(np.array(FLAGS, np.uint8), size=(2 * SLAB_PLANES + 7, 6, 5))
    halve = [True, True, True]
    np.testing.assert_array_equal(
        _reduce_in_slabs(labels, halve, "mode", FLAGS), reduce_block(labels, halve, "mode", FLAGS)
    )
    grey = rng.normal(size=(3, 2 * SLAB_PLANES + 1, 4)).astype(np.float32)  # c first: not halved
    halve = [False, True, True]
    np.testing.assert_array_equal(
        _reduce_in_slabs(grey, halve, "mean", None), reduce_block(grey, halve, "mean", None)
    )
