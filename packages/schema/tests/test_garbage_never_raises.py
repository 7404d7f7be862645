"""The validator returns a report for anything store-shaped, however broken: property tests."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain_stores import plain_tree

from fusion.schema import ValidationReport, validate

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
attr_keys = st.sampled_from(
    [
        "fusion", "schema", "long_name", "units", "modality", "origin", "provenance",
        "flag_values", "flag_meanings", "flag_colors", "rotation", "crystal_symmetry",
        "phase_channel", "coordinates", "fusion_incomplete",
    ]
) | st.text(max_size=8)  # fmt: skip
attrs = st.dictionaries(attr_keys, json_values, max_size=6)
dim_names = st.sampled_from(
    ["z", "y", "x", "quat", "element", "energy_loss", "angle", "flat", "band"]
)
dtypes = st.sampled_from(["uint8", "int16", "int64", "float32", "float64", "bool", "complex64"])


@st.composite
def arrays(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    dims = tuple(draw(st.lists(dim_names, min_size=ndim, max_size=ndim, unique=True)))
    return shape, dims, draw(dtypes), draw(attrs)


@st.composite
def garbage_stores(draw):
    store = zarr.storage.MemoryStore()
    root = zarr.open_group(store, mode="w", zarr_format=3)
    fusion = draw(st.one_of(json_values, st.just(plain_tree().attrs["fusion"])))
    root.attrs.update({"fusion": fusion, **draw(attrs)})
    for g in range(draw(st.integers(0, 2))):
        group = root.create_group(draw(st.sampled_from(["particle", "electrode", "x"])) + str(g))
        group.attrs.update(draw(attrs))
        for name in draw(
            st.lists(
                st.sampled_from(["z", "y", "x", "phase", "quat", "angle", "c"]),
                max_size=5,
                unique=True,
            )
        ):
            shape, dims, dtype, array_attrs = draw(arrays())
            array = group.create_array(name, shape=shape, dtype=dtype, dimension_names=dims or None)
            if all(shape):
                array[...] = (
                    draw(st.sampled_from([0, 1, 255, -1, np.nan, np.inf])) if dtype[0] == "f" else 1
                )
            array.attrs.update(array_attrs)
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_stores(), st.sampled_from(["metadata", "data"]))
def test_random_zarr_stores_always_give_a_report(group, level):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = validate(group, level=level)
    assert isinstance(report, ValidationReport)
    assert "validator.internal-error" not in report.codes(), str(report)
    assert report.exit_code in (0, 1)


@settings(max_examples=100, deadline=None)
@given(attrs, attrs, st.sampled_from(["uint8", "float32", "int32", "bool"]))
def test_random_attributes_on_a_datatree_always_give_a_report(root_attrs, channel_attrs, dtype):
    tree = plain_tree()
    tree.attrs = {**tree.attrs, **root_attrs}
    ds = tree["particle"].to_dataset()
    ds["extra"] = xr.Variable(("z", "y", "x"), np.ones((3, 4, 5), dtype=dtype), channel_attrs)
    tree["particle"] = xr.DataTree(ds)
    report = validate(tree, level="data")
    assert "validator.internal-error" not in report.codes(), str(report)
    assert report.readable


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=64),
    st.sampled_from(["zarr.json", "particle/zarr.json", "particle/z/zarr.json"]),
)
def test_corrupt_metadata_documents_give_a_report(tmp_path_factory, blob, key):
    path = tmp_path_factory.mktemp("corrupt") / "s.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain_tree().to_zarr(path, mode="w", consolidated=False, zarr_format=3)
    (path / key).write_bytes(blob)
    report = validate(path, level="data")
    assert report.exit_code in (1, 2)
    assert "validator.internal-error" not in report.codes(), str(report)
