"""Malformed stores, each built with plain xarray / zarr, each found at the right path and code.

Every case is also run through the ``fusion validate`` command, which must exit 1.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from plain_stores import channel_attrs, deep, plain_tree, write_plain

from fusion.cli import main
from fusion.schema import validate

# -- mutations of the tree before it is written (plain xarray) --------------------------------


def root(tree, **changes):
    fusion = tree.attrs["fusion"]
    for key, value in changes.items():
        if value is None:
            fusion.pop(key, None)
        else:
            fusion[key] = value
    return tree


def activity(tree, **changes):
    tree.attrs["fusion"]["provenance"]["activities"]["gen"].update(changes)
    return tree


def channel(tree, name, **changes):
    attrs = tree["particle"][name].attrs
    for key, value in changes.items():
        if value is None:
            attrs.pop(key, None)
        else:
            attrs[key] = value
    return tree


def replace_particle(tree, ds):
    tree["particle"] = xr.DataTree(ds)
    return tree


def particle(tree):
    return tree["particle"].to_dataset()


def with_coord(tree, dim, values, attrs=None):
    ds = particle(tree)
    ds = ds.assign_coords({dim: (dim, values, attrs if attrs is not None else {"units": "um"})})
    return replace_particle(tree, ds)


TREE_CASES = [
    # id, mutation, expected path, expected code, expected attribute (None: don't care)
    ("no-fusion-attr", lambda t: (t.attrs.pop("fusion"), t)[1], "/", "root.not-fusion", "fusion"),
    ("future-version", lambda t: root(t, schema="fusion/9.0"), "/", "root.schema-version", "fusion.schema"),
    ("no-schema", lambda t: root(t, schema=None), "/", "root.schema-version", "fusion.schema"),
    ("no-sample", lambda t: root(t, sample=None), "/", "root.missing-field", "fusion.sample"),
    ("unknown-root-field", lambda t: root(t, colour="red"), "/", "root.unknown-field", "fusion.colour"),
    ("created-not-a-time", lambda t: root(t, created="yesterday"), "/", "root.invalid-value", "fusion.created"),
    ("modified-before-created", lambda t: root(t, modified="2020-01-01T00:00:00+00:00"), "/", "root.time-order", None),
    ("naive-time", lambda t: root(t, created="2026-01-15T10:00:00"), "/", "root.invalid-value", "fusion.created"),
    ("activity-ends-first", lambda t: activity(t, ended="2000-01-01T00:00:00+00:00"), "/", "provenance.time-order", "fusion.provenance.activities.gen"),
    ("used-unknown-entity", lambda t: activity(t, used=["nowhere"]), "/", "provenance.dangling-reference", "fusion.provenance"),
    ("unknown-activity-type", lambda t: activity(t, type="dream"), "/", "provenance.invalid-value", "fusion.provenance.activities.gen.type"),
    ("bad-sha256", lambda t: (t.attrs["fusion"]["provenance"]["entities"]["scan"].update(sha256="xyz"), t)[1], "/", "provenance.invalid-value", "fusion.provenance.entities.scan.file.sha256"),
    ("incomplete-write", lambda t: (t.attrs.update(fusion_incomplete="write started"), t)[1], "/", "root.incomplete-write", "fusion_incomplete"),
    ("array-at-root", lambda t: (t.__setitem__("stray", xr.DataArray([1, 2], dims="n")), t)[1], "/stray", "root.unexpected-array", None),
    ("no-scale-group", lambda t: xr.DataTree(xr.Dataset(attrs=t.attrs)), "/", "root.no-scale-groups", None),
    ("nested-group", lambda t: (t.__setitem__("particle/inner", xr.DataTree()), t)[1], "/particle/inner", "group.nested", None),
    ("coord-float32", lambda t: with_coord(t, "y", np.arange(4, dtype=np.float32) * 0.5), "/particle/y", "coords.dtype", None),
    ("coord-in-microns", lambda t: with_coord(t, "x", np.arange(5) * 0.5, {"units": "micron"}), "/particle/x", "coords.units", "units"),
    ("coord-decreasing", lambda t: with_coord(t, "z", np.array([1.0, 0.5, 0.0])), "/particle/z", "coords.not-increasing", None),
    ("coord-irregular", lambda t: with_coord(t, "x", np.array([0.0, 0.5, 1.0, 1.6, 2.0])), "/particle/x", "coords.irregular-spacing", None),
    ("coord-nan", lambda t: with_coord(t, "y", np.array([0.0, np.nan, 1.0, 1.5])), "/particle/y", "coords.not-finite", None),
    ("missing-coord", lambda t: replace_particle(t, particle(t).drop_vars("x")), "/particle", "coords.missing", None),
    ("dims-transposed", lambda t: replace_particle(t, particle(t).assign(grey=particle(t).grey.transpose("y", "x", "z"))), "/particle/grey", "channel.dims", None),
    ("unknown-extra-dim", lambda t: replace_particle(t, particle(t).assign(bands=(("z", "y", "x", "band"), np.zeros((3, 4, 5, 2), np.float32), channel_attrs()))), "/particle/bands", "channel.dims", None),
    ("complex-channel", lambda t: replace_particle(t, particle(t).assign(wave=(("z", "y", "x"), np.zeros((3, 4, 5), np.complex64), channel_attrs()))), "/particle/wave", "channel.dtype", None),
    ("no-long-name", lambda t: channel(t, "grey", long_name=None), "/particle/grey", "channel.missing-attribute", "long_name"),
    ("units-micron", lambda t: channel(t, "grey", units="micron"), "/particle/grey", "channel.units", "units"),
    ("units-unknown", lambda t: channel(t, "grey", units="furlong"), "/particle/grey", "channel.units", "units"),
    ("modality-mri", lambda t: channel(t, "grey", modality="MRI"), "/particle/grey", "channel.modality", "modality"),
    ("origin-simulated", lambda t: channel(t, "grey", origin="simulated"), "/particle/grey", "channel.origin", "origin"),
    ("provenance-unknown", lambda t: channel(t, "grey", provenance="nobody"), "/particle/grey", "channel.provenance", "provenance"),
    ("flags-count-mismatch", lambda t: channel(t, "phase", flag_meanings="pore NMC"), "/particle/phase", "labels.flags", "flag_values"),
    ("flags-without-meanings", lambda t: channel(t, "phase", flag_meanings=None), "/particle/phase", "labels.flags", "flag_values"),
    ("flag-colors-malformed", lambda t: channel(t, "phase", flag_colors=["red", "green", "blue"]), "/particle/phase", "labels.flags", "flag_colors"),
    ("labels-float", lambda t: replace_particle(t, particle(t).assign(phase=particle(t).phase.astype(np.float32))), "/particle/phase", "labels.dtype", None),
    ("labels-units", lambda t: channel(t, "phase", units="counts"), "/particle/phase", "labels.units", "units"),
    ("flag-out-of-dtype", lambda t: channel(t, "phase", flag_values=[0, 1, 300]), "/particle/phase", "labels.flag-range", "flag_values"),
    ("quat-order", lambda t: replace_particle(t, particle(t).assign_coords(quat=("quat", np.array(["x", "y", "z", "w"], dtype=object)))), "/particle/quat", "orientation.quat-coordinate", None),
    ("no-symmetry", lambda t: channel(t, "orientation", crystal_symmetry=None), "/particle/orientation", "orientation.symmetry", "crystal_symmetry"),
    ("bad-point-group", lambda t: channel(t, "orientation", crystal_symmetry={"NMC": "m3m"}), "/particle/orientation", "orientation.symmetry", "crystal_symmetry"),
    ("no-rotation", lambda t: channel(t, "orientation", rotation=None), "/particle/orientation", "orientation.rotation", "rotation"),
    ("symmetry-unknown-phase", lambda t: channel(t, "orientation", crystal_symmetry={"LFP": "mmm"}), "/particle/orientation", "orientation.phase-channel", "crystal_symmetry"),
    ("quat-int", lambda t: replace_particle(t, particle(t).assign(orientation=particle(t).orientation.astype(np.int16))), "/particle/orientation", "orientation.dtype", None),
    ("bad-element", lambda t: replace_particle(t, particle(t).assign_coords(element=("element", np.array(["Ni", "Xx"], dtype=object)))), "/particle/element", "composition.element-coordinate", None),
    ("composition-percent", lambda t: channel(t, "composition", units="percent"), "/particle/composition", "composition.units", "units"),
    ("energy-in-kev", lambda t: replace_particle(t, particle(t).assign(spectrum=(("z", "y", "x", "energy_loss"), np.zeros((3, 4, 5, 3), np.float32), channel_attrs(modality="EELS", units="counts"))).assign_coords(energy_loss=("energy_loss", [0.1, 0.2, 0.3], {"units": "keV"}))), "/particle/energy_loss", "energy-loss.coordinate", "units"),
    ("not-generated", lambda t: activity(t, generated=["/particle/phase"]), "/particle/grey", "provenance.not-generated", "provenance"),
]  # fmt: skip


def _write_case(tree: xr.DataTree, tmp_path: Path) -> Path:
    path = tmp_path / "case.zarr"
    write_plain(tree, path)
    return path


def test_the_plain_base_store_conforms(tmp_path):
    path = _write_case(plain_tree(), tmp_path)
    report = validate(path, level="data")
    assert report.ok, str(report)
    assert report.findings == []


@pytest.mark.parametrize(
    ("mutate", "path", "code", "attribute"),
    [pytest.param(*case[1:], id=case[0]) for case in TREE_CASES],
)
def test_malformed_tree_is_found(tmp_path, mutate, path, code, attribute):
    store = _write_case(mutate(deep(plain_tree())), tmp_path)
    report = validate(store, level="metadata")
    hits = [f for f in report.findings if f.code == code and f.path == path]
    assert hits, f"expected {code} at {path}, got:\n{report}"
    if attribute is not None:
        assert any((f.attribute or "").startswith(attribute) for f in hits), str(report)
    expected_exit = 1 if report.errors else 0
    assert main(["validate", str(store)]) == expected_exit
    assert not any(f.code == "validator.internal-error" for f in report.findings)


# -- mutations of the written store (plain zarr) -----------------------------------------------


def _store(tmp_path) -> Path:
    return _write_case(plain_tree(), tmp_path)


def test_zarr_v2_store_is_refused(tmp_path):
    path = tmp_path / "v2.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain_tree().to_zarr(path, mode="w", consolidated=False, zarr_format=2)
    report = validate(path)
    assert ("/", "store.zarr-format") in {(f.path, f.code) for f in report.findings}
    assert main(["validate", str(path)]) == 1


def test_shape_disagreeing_with_coordinates(tmp_path):
    path = _store(tmp_path)
    group = zarr.open_group(path, mode="r+")
    array = group.create_array(
        "particle/short", shape=(3, 4, 4), dtype="float32", dimension_names=("z", "y", "x")
    )
    array.attrs.update(channel_attrs())
    report = validate(path)
    assert ("/particle/short", "channel.shape") in {(f.path, f.code) for f in report.findings}


def test_missing_dimension_names(tmp_path):
    path = _store(tmp_path)
    group = zarr.open_group(path, mode="r+")
    group.create_array("particle/anon", shape=(3, 4, 5), dtype="float32").attrs.update(
        channel_attrs()
    )
    report = validate(path)
    assert ("/particle/anon", "channel.dims") in {(f.path, f.code) for f in report.findings}


def test_stale_consolidated_metadata(tmp_path):
    path = tmp_path / "stale.zarr"
    write_plain(plain_tree(), path, consolidated=True)
    zarr.open_group(path, mode="r+", use_consolidated=False)["particle/grey"].attrs["units"] = (
        "micron"
    )
    report = validate(path)
    assert ("/particle/grey", "store.stale-consolidated") in {
        (f.path, f.code) for f in report.findings
    }
    # the node's own document is what is checked
    assert ("/particle/grey", "channel.units") in {(f.path, f.code) for f in report.findings}


# -- values: level "data" ----------------------------------------------------------------------


def _set_values(path: Path, name: str, index, value) -> None:
    array = zarr.open_group(path, mode="r+")[f"particle/{name}"]
    data = array[...]
    data[index] = value
    array[...] = data


@pytest.mark.parametrize(
    ("name", "index", "value", "code", "needle"),
    [
        ("phase", (1, 2, 3), 7, "data.label-values", "[7]"),
        ("grey", (0, 0, 1), np.nan, "data.not-finite", "z=0, y=0, x=1"),
        ("grey", (2, 3, 4), np.inf, "data.not-finite", "z=2, y=3, x=4"),
        ("orientation", (0, 1, 1), [1.1, 0, 0, 0], "data.quat-norm", "1.1"),
        ("orientation", (0, 1, 1), [np.nan, 0, 0, 0], "data.not-finite", "partly NaN"),
        ("composition", (2, 0, 0), [1.5, 0.0], "data.fraction-range", "1.5"),
        ("composition", (2, 0, 0), [-0.1, 0.0], "data.fraction-range", "-0.1"),
    ],
    ids=["label", "nan", "inf", "quat-norm", "quat-partial-nan", "fraction-high", "fraction-low"],
)
def test_bad_values_are_found_at_level_data_only(tmp_path, name, index, value, code, needle):
    path = _store(tmp_path)
    _set_values(path, name, index, value)
    assert validate(path, level="metadata").ok
    report = validate(path, level="data")
    hits = [f for f in report.findings if f.code == code and f.path == f"/particle/{name}"]
    assert hits, str(report)
    assert needle in hits[0].message
    assert main(["validate", str(path), "--level", "data"]) == 1


def test_whole_nan_quaternion_means_no_orientation(tmp_path):
    path = _store(tmp_path)
    _set_values(path, "orientation", (0, 1, 1), [np.nan] * 4)
    assert validate(path, level="data").ok


def test_corrupt_chunk_is_a_finding_not_a_crash(tmp_path):
    path = _store(tmp_path)
    chunk = next((path / "particle" / "grey" / "c").rglob("*"))
    while chunk.is_dir():
        chunk = next(chunk.iterdir())
    chunk.write_bytes(b"this is not zstd")
    report = validate(path, level="data")
    assert ("/particle/grey", "data.unreadable-chunk") in {
        (f.path, f.code) for f in report.findings
    }


def test_json_output_lists_each_finding(tmp_path, capsys):
    tree = channel(deep(plain_tree()), "grey", units="micron")
    store = _write_case(tree, tmp_path)
    assert main(["validate", str(store), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert {
        "path": "/particle/grey",
        "attribute": "units",
        "code": "channel.units",
        "severity": "error",
        "message": "unit 'micron' is not in the vocabulary; write 'um'",
    } in out["findings"]


def test_enough_distinct_malformed_stores():
    codes = {case[3] for case in TREE_CASES}
    assert len(TREE_CASES) >= 20 and len(codes) >= 20


def test_plain_zarr_group_is_told_the_versions_this_validator_reads(tmp_path):
    from fusion.schema.model._versions import SUPPORTED_SCHEMAS

    zarr.open_group(tmp_path / "plain.zarr", mode="w", zarr_format=3).attrs["title"] = "x"
    report = validate(tmp_path / "plain.zarr")
    (finding,) = [f for f in report.findings if f.code == "root.not-fusion"]
    for schema in SUPPORTED_SCHEMAS:
        assert repr(schema) in finding.message
    assert "with schema 'fusion/0.1')" not in finding.message
