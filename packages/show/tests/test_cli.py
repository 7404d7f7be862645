"""``fusion show``: one line out, exit codes, nothing lost on failure."""

from __future__ import annotations

import xarray as xr
from PIL import Image

from fusion.cli import main
from fusion.schema import make_example, write


def test_show_writes_the_png_and_says_what_it_drew(tmp_path, capsys):
    store = tmp_path / "demo.zarr"
    write(make_example(size="tiny"), store)
    png = tmp_path / "demo.png"
    code = main(["show", str(store), "-o", str(png), "--group", "particle", "--index", "1,2,3"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == (
        f"wrote {png}: 12 panels of 4 channels (/particle/composition, /particle/grain_id, "
        "/particle/orientation, /particle/phase)"
    )
    assert Image.open(png).format == "PNG"


def test_a_missing_dataset_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["show", str(tmp_path / "nope.zarr"), "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"fusion show: error: {tmp_path / 'nope.zarr'}: cannot open as a Zarr")
    assert not (tmp_path / "x.png").exists()


def test_no_channels_and_bad_index_are_exit_1_and_keep_an_existing_png(tmp_path, capsys):
    empty = tmp_path / "empty.zarr"
    xr.DataTree(xr.Dataset(attrs={"title": "nothing"})).to_zarr(empty)
    png = tmp_path / "old.png"
    png.write_bytes(b"kept")
    assert main(["show", str(empty), "-o", str(png)]) == 1
    assert capsys.readouterr().err == (
        f"fusion show: error: {empty}: no voxel channels (data variables on z, y, x) to show\n"
    )
    store = tmp_path / "demo.zarr"
    write(make_example(size="tiny"), store)
    assert main(["show", str(store), "-o", str(png), "--index", "1,2"]) == 1
    assert "--index expects three integers z,y,x, got '1,2'" in capsys.readouterr().err
    assert main(["show", str(store), "-o", str(png), "--index", "0,0,99"]) == 1
    assert "--index 0,0,99 is outside the volume" in capsys.readouterr().err
    assert png.read_bytes() == b"kept"
