"""The shortcuts the loaders take for speed give what the slow, public ways give."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pytest
import xarray as xr

import fusion.loaders._provenance as provenance
from fusion.base import hash_file
from fusion.loaders._build import dataset, tree
from fusion.loaders._provenance import Digest, jsonable, original_metadata


def _coords() -> dict[str, xr.Variable]:
    return {
        "z": xr.Variable("z", [0.0], {"units": "um"}),
        "y": xr.Variable("y", np.arange(3.0), {"units": "um"}),
        "x": xr.Variable("x", np.arange(4.0) * 0.5, {"units": "um"}),
        "quat": xr.Variable("quat", np.array(["w", "x", "y", "z"], dtype=object)),
        "label": xr.Variable(("y",), np.array(["a", "b", "c"])),  # not a dimension coordinate
    }


def _channels() -> dict[str, xr.Variable]:
    return {
        "grey": xr.Variable(("z", "y", "x"), np.ones((1, 3, 4), np.uint16), {"units": "1"}),
        "orientation": xr.Variable(("z", "y", "x", "quat"), np.zeros((1, 3, 4, 4))),
    }


def test_dataset_is_what_the_constructor_builds():
    built = dataset(_channels(), _coords(), {"scan_unit": "um"})
    public = xr.Dataset(_channels(), coords=_coords(), attrs={"scan_unit": "um"})
    xr.testing.assert_identical(built, public)
    assert set(built.xindexes) == set(public.xindexes) == {"z", "y", "x", "quat"}
    for name, index in built.xindexes.items():
        assert index.equals(public.xindexes[name])
    assert built.sizes == public.sizes


def test_dataset_refuses_what_the_constructor_refuses():
    channels = {"grey": xr.Variable(("z", "y", "x"), np.ones((1, 5, 4)))}
    with pytest.raises(ValueError, match="conflicting sizes"):
        dataset(channels, _coords())
    with pytest.raises(ValueError, match="both a coordinate and a channel"):
        dataset({"x": xr.Variable("x", np.arange(4.0))}, _coords())


def test_tree_is_what_from_dict_builds():
    groups = {"a": dataset(_channels(), _coords()), "b": xr.Dataset({"v": ("t", [1, 2])})}
    built = tree({"fusion": {"title": "t"}}, groups)
    public = xr.DataTree.from_dict(
        {"/": xr.Dataset(attrs={"fusion": {"title": "t"}}), "/a": groups["a"], "/b": groups["b"]}
    )
    xr.testing.assert_identical(built, public)
    assert built["a"].parent is built and built["b"].path == "/b"
    assert list(built.children) == ["a", "b"]
    with pytest.raises(ValueError, match="without '/'"):
        tree({}, {"a/b": groups["b"]})


METADATA = [
    {"a": 1, "b": [1.5, 2, None, True], "c": (1, "x"), "é": "ü"},
    {"n": np.float32(0.1), "arr": np.arange(5), "big": np.zeros(5000), "b": b"\xe9t\xe9"},
    {"when": dt.datetime(2020, 1, 2, 3, 4, 5), "day": dt.date(2020, 1, 2)},
    {"nan": float("nan"), "x": {1: 2}},
    {True: 1, "z": None},
    {None: 2, "k": np.int64(3)},
    {1: "a", 2: "b"},
    {np.int64(3): 1},
    {(1, 2): 3},
    {"f": np.float64("inf"), "g": np.array([1.0, np.nan])},
    {"s": np.str_("é"), "bo": np.bool_(True), "u8": np.uint8(7)},
    {1.5: 1, "m": {"k": [np.float64(2.5)]}},
]


@pytest.mark.parametrize("metadata", METADATA)
def test_original_metadata_is_the_json_of_the_converted_tree(metadata):
    text = original_metadata(metadata)
    assert text == json.dumps(jsonable(metadata), ensure_ascii=False, sort_keys=True)
    json.loads(text)  # plain JSON: no NaN or Infinity tokens
    assert "NaN" not in text and "Infinity" not in text


def test_digest_hands_the_reader_the_bytes_it_hashed(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 1000)
    with Digest(path) as digest:
        source = digest.source(path)
        assert isinstance(source, io.BytesIO) and source.read() == path.read_bytes()
        assert digest.hexdigest() == hash_file(path)


def test_digest_of_a_large_input_hashes_in_the_background(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "BACKGROUND_BYTES", 1000)
    paths = [tmp_path / f"{i}.bin" for i in range(3)]
    for i, path in enumerate(paths):
        path.write_bytes(bytes([i]) * 5000)
    with Digest(*paths) as digest:
        assert digest.source(paths[0]) == paths[0]  # the reader reads the file itself
        assert digest.hexdigests() == [hash_file(p) for p in paths]
