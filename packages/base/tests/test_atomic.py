"""Atomic files: the destination appears whole or not at all, and no partial is left."""

from __future__ import annotations

import pytest

from fusion.base import atomic_path, atomic_write, new_id, partial_sibling


def test_atomic_write_replaces_the_destination_and_leaves_nothing_beside_it(tmp_path):
    dest = tmp_path / "card.json"
    dest.write_bytes(b"old")
    atomic_write(dest, b"new")
    assert dest.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_an_error_removes_the_partial_and_keeps_the_old_file(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as partial:
        partial.write_text("half")
        raise RuntimeError("crash")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_partial_folder_is_removed_on_error(tmp_path):
    dest = tmp_path / "store.zarr"
    with pytest.raises(ValueError), atomic_path(dest) as partial:
        (partial / "sub").mkdir(parents=True)
        raise ValueError("bad")
    assert list(tmp_path.iterdir()) == []


def test_partial_siblings_are_hidden_unique_and_beside_the_destination(tmp_path):
    a, b = partial_sibling(tmp_path / "x.zarr"), partial_sibling(tmp_path / "x.zarr", "old")
    assert a.parent == b.parent == tmp_path
    assert a.name.startswith(".x.zarr.") and a.name.endswith(".partial")
    assert b.name.endswith(".old") and a.name != b.name
    assert len(a.name.split(".")[-2]) == 12


def test_new_id_is_hex_of_the_asked_length():
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)
    assert len(new_id(32)) == 32
    with pytest.raises(ValueError):
        new_id(0)
