"""Format 0.2: projection groups (angle, y, x) beside scale groups, built with plain xarray."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from plain_stores import channel_attrs, deep, plain_tree, write_plain

from fusion.schema import validate


def projection_group(n_angles=5, unit="degree") -> xr.Dataset:
    ny, nx = 2, 6
    coords = {
        "angle": ("angle", np.linspace(0, 180, n_angles, endpoint=False), {"units": unit}),
        "y": ("y", 0.65 * np.arange(ny, dtype=np.float64), {"units": "um"}),
        "x": ("x", 0.65 * np.arange(nx, dtype=np.float64), {"units": "um"}),
    }
    xct = channel_attrs(modality="XCT", origin="measured", units="counts", provenance="gen")
    return xr.Dataset(
        {
            "projections": (("angle", "y", "x"), np.full((n_angles, ny, nx), 2e4, np.float32), xct),
            "flat": (("flat", "y", "x"), np.full((3, ny, nx), 3e4, np.float32), xct),
            "dark": (("dark", "y", "x"), np.full((2, ny, nx), 100, np.float32), xct),
        },
        coords=coords,
    )


def tree_with_projections(schema="fusion/0.2", group=None) -> xr.DataTree:
    tree = deep(plain_tree())
    tree.attrs["fusion"]["schema"] = schema
    generated = tree.attrs["fusion"]["provenance"]["activities"]["gen"]["generated"]
    generated += ["/tomo/projections", "/tomo/flat", "/tomo/dark"]
    tree["tomo"] = xr.DataTree(group if group is not None else projection_group())
    return tree


def _codes_at(report):
    return {(f.path, f.code) for f in report.findings}


def test_projection_group_conforms_in_0_2(tmp_path):
    write_plain(tree_with_projections(), tmp_path / "p.zarr")
    report = validate(tmp_path / "p.zarr", level="data")
    assert report.ok and not report.warnings, str(report)
    assert report.schema_id == "fusion/0.2"


def test_projection_group_needs_0_2(tmp_path):
    write_plain(tree_with_projections(schema="fusion/0.1"), tmp_path / "p.zarr")
    assert ("/tomo", "group.requires-0.2") in _codes_at(validate(tmp_path / "p.zarr"))


def test_angles_in_radians_are_refused(tmp_path):
    write_plain(tree_with_projections(group=projection_group(unit="radian")), tmp_path / "p.zarr")
    assert ("/tomo/angle", "projections.angle") in _codes_at(validate(tmp_path / "p.zarr"))


@pytest.mark.parametrize(
    "dims", [("angle", "x", "y"), ("z", "y", "x"), ("angle", "y", "x", "quat")], ids=str
)
def test_projection_channel_dims(tmp_path, dims):
    group = projection_group()
    shape = tuple({"angle": 5, "y": 2, "x": 6, "z": 1, "quat": 4}[d] for d in dims)
    group["odd"] = (dims, np.zeros(shape, np.float32), channel_attrs(provenance="gen"))
    tree = tree_with_projections(group=group)
    tree.attrs["fusion"]["provenance"]["activities"]["gen"]["generated"].append("/tomo/odd")
    write_plain(tree, tmp_path / "p.zarr")
    assert ("/tomo/odd", "channel.dims") in _codes_at(validate(tmp_path / "p.zarr"))


def test_nan_in_projections_is_found_at_level_data(tmp_path):
    group = projection_group()
    group["projections"][1, 0, 2] = np.nan
    write_plain(tree_with_projections(group=group), tmp_path / "p.zarr")
    assert validate(tmp_path / "p.zarr").ok
    assert ("/tomo/projections", "data.not-finite") in _codes_at(
        validate(tmp_path / "p.zarr", level="data")
    )
