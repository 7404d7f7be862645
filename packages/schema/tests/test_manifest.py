"""Chunk manifests: `write` records every chunk's SHA-256; `validate --level data` finds chunks
that are missing, changed (even when they still decode) or stray, naming each one."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import jsonschema
import pytest
import zarr

from fusion.cli import main
from fusion.schema import make_example, validate, write
from fusion.schema.model._jsonschema import manifest_json_schema

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The tiny example written once; tests change copies of it."""
    return Path(write(make_example(size="tiny", seed=5), tmp_path_factory.mktemp("w") / "a.zarr"))


@pytest.fixture
def store(written, tmp_path) -> Path:
    copy = tmp_path / "a.zarr"
    shutil.copytree(written, copy)
    return copy


def _manifest(store: Path, array: str) -> dict:
    return json.loads((store / array / "fusion_chunks.json").read_text())


def _chunk_files(store: Path) -> dict[str, bytes]:
    """Every stored object of every array except metadata and manifests, by key."""
    return {
        path.relative_to(store).as_posix(): path.read_bytes()
        for path in store.rglob("*")
        if path.is_file() and path.name not in ("zarr.json", "fusion_chunks.json")
    }


def test_every_array_lists_exactly_its_stored_chunks_with_their_sha256(written):
    arrays = {p.parent.relative_to(written).as_posix() for p in written.rglob("fusion_chunks.json")}
    assert "particle/phase" in arrays and "electrode/z" in arrays and len(arrays) == 14
    listed = {
        f"{array}/{key}": entry
        for array in arrays
        for key, entry in _manifest(written, array)["chunks"].items()
    }
    files = _chunk_files(written)
    assert set(listed) == set(files)
    for key, data in files.items():
        assert listed[key] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_manifest_matches_its_committed_json_schema(written):
    committed = json.loads(
        (REPO / "spec/schema/fusion-chunks-1/manifest.schema.json").read_text(encoding="utf-8")
    )
    assert committed == manifest_json_schema(), "stale: run `fusion schema --out spec/schema`"
    jsonschema.validate(_manifest(written, "particle/orientation"), committed)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"manifest": "fusion-chunks/1", "chunks": {"c/0": {"size": 1}}}, committed
        )


def test_a_chunk_of_fill_values_is_absent_and_not_listed(tmp_path):
    tree = make_example(size="tiny")
    particle = tree["particle"].to_dataset()
    phase = particle.phase.copy()
    phase[:4] = 0  # all pore in the first z chunk: zarr stores no chunk there
    tree["particle"] = particle.assign(phase=phase.chunk({"z": 4}))
    store = Path(write(tree, tmp_path / "a.zarr"))
    assert list(_manifest(store, "particle/phase")["chunks"]) == ["c/1/0/0"]
    assert validate(store, level="data").ok
    (store / "particle/phase/c/1/0/0").unlink()
    report = validate(store, level="data")
    assert [(f.code, f.path) for f in report.errors] == [("data.missing-chunk", "/particle/phase")]
    assert "particle/phase/c/1/0/0" in report.errors[0].message


def test_a_deleted_chunk_is_named(store, capsys):
    (store / "particle/grain_id/c/0/0/0").unlink()
    for level in ("metadata", "data"):  # metadata reads no chunk, but lists the store once
        report = validate(store, level=level)
        (finding,) = report.errors
        assert (finding.code, finding.path) == ("data.missing-chunk", "/particle/grain_id")
        assert "particle/grain_id/c/0/0/0" in finding.message and "fill value" in finding.message
    assert main(["validate", str(store), "--level", "data"]) == 1
    assert "data.missing-chunk" in capsys.readouterr().out
    assert main(["validate", str(store)]) == 1
    assert "data.missing-chunk" in capsys.readouterr().out


def test_the_metadata_level_finds_holes_with_one_listing(written, tmp_path, monkeypatch):
    """Folder, zip and object store: a deleted chunk is named at the metadata level, from one
    listing of the store (no lookup per chunk, no chunk read)."""
    import fsspec

    from fusion.schema.store._objects import Objects

    folder = tmp_path / "a.zarr"
    shutil.copytree(written, folder)
    for key in ("electrode/phase/c/0/0/0", "particle/phase/c/0/0/0"):
        (folder / key).unlink()
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    url = "memory://holes/a.zarr"
    fs = fsspec.filesystem("memory")
    fs.put(str(folder), "/holes/a.zarr", recursive=True)
    listings = []
    real_keys, real_read_many = Objects.keys, Objects.read_many
    read = []
    monkeypatch.setattr(Objects, "keys", lambda self: listings.append(1) or real_keys(self))
    monkeypatch.setattr(
        Objects, "read_many", lambda self, keys: real_read_many(self, read.extend(keys) or read)
    )
    for target in (folder, archive, url):
        listings.clear()
        read.clear()
        report = validate(target, level="metadata")
        assert [(f.code, f.path) for f in report.errors] == [
            ("data.missing-chunk", "/electrode/phase"),
            ("data.missing-chunk", "/particle/phase"),
        ], target
        assert "particle/phase/c/0/0/0" in report.errors[1].message
        assert len(listings) == 1 and all(k.endswith("/fusion_chunks.json") for k in read)
    assert validate(written, level="metadata").ok


def test_a_changed_chunk_that_still_decodes_is_named(store):
    phase = zarr.open_array(store / "particle/phase", mode="r+")
    phase[0, 0, 0] = (phase[0, 0, 0] + 1) % 3  # valid labels, re-encoded: only the hash knows
    report = validate(store, level="data")
    (finding,) = report.errors
    assert (finding.code, finding.path) == ("data.corrupt-chunk", "/particle/phase")
    expected = _manifest(store, "particle/phase")["chunks"]["c/0/0/0"]["sha256"]
    found = hashlib.sha256((store / "particle/phase/c/0/0/0").read_bytes()).hexdigest()
    assert "particle/phase/c/0/0/0" in finding.message
    assert expected[:16] in finding.message and found[:16] in finding.message


def test_overwritten_bytes_are_named_beside_the_decode_error(store):
    chunk = store / "particle/orientation/c/0/0/0/0"
    chunk.write_bytes(b"\x00" * len(chunk.read_bytes()))
    report = validate(store, level="data")
    assert report.codes() == {"data.unreadable-chunk", "data.corrupt-chunk"}
    corrupt = next(f for f in report.errors if f.code == "data.corrupt-chunk")
    assert "particle/orientation/c/0/0/0/0" in corrupt.message


def test_a_stray_chunk_where_the_fill_value_was_is_reported(store):
    manifest = store / "particle/phase/fusion_chunks.json"
    manifest.write_text(json.dumps({"manifest": "fusion-chunks/1", "chunks": {}}))
    report = validate(store, level="data")
    (finding,) = report.errors
    assert finding.code == "data.corrupt-chunk" and "not listed" in finding.message
    assert "particle/phase/c/0/0/0" in finding.message


UNSAFE_KEY = {"manifest": "fusion-chunks/1", "chunks": {"../x": {"size": 1, "sha256": "0" * 64}}}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text("{"), "Invalid JSON"),
        (
            lambda p: p.write_text('{"manifest": "fusion-chunks/9", "chunks": {}}'),
            "manifest: Input should be 'fusion-chunks/1'",
        ),
        (lambda p: p.write_text(json.dumps(UNSAFE_KEY)), "relative key"),
        (lambda p: p.unlink(), "missing while 13 other array(s) have one"),
    ],
)
def test_a_broken_or_missing_manifest_is_reported(store, damage, message):
    damage(store / "particle/quat/fusion_chunks.json")
    report = validate(store, level="data")
    (finding,) = report.errors
    assert (finding.code, finding.path) == ("data.invalid-manifest", "/particle/quat")
    assert message in finding.message and "particle/quat/fusion_chunks.json" in finding.message


def test_a_store_without_manifests_still_validates(store):
    for manifest in store.rglob("fusion_chunks.json"):
        manifest.unlink()
    (store / "particle/grain_id/c/0/0/0").unlink()  # undetectable without a manifest
    assert validate(store, level="data").ok


def test_zip_and_object_store_writes_carry_manifests(tmp_path):
    archive = Path(write(make_example(size="tiny"), tmp_path / "a.zip"))
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        listed = json.loads(zf.read("particle/phase/fusion_chunks.json"))["chunks"]
        chunk = zf.read("particle/phase/c/0/0/0")
    assert len([n for n in names if n.endswith("fusion_chunks.json")]) == 14
    assert listed["c/0/0/0"]["sha256"] == hashlib.sha256(chunk).hexdigest()
    url = "memory://manifests/a.zarr"
    write(make_example(size="tiny"), url)
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.rm("/manifests/a.zarr/electrode/phase/c/0/0/0")
    report = validate(url, level="data")
    assert [f.code for f in report.errors] == ["data.missing-chunk"]
    assert "electrode/phase/c/0/0/0" in report.errors[0].message


def flip_a_byte_of(archive: Path, member: str) -> None:
    """Flip one stored byte of a zip member in place: its CRC-32 no longer matches."""
    import struct

    with zipfile.ZipFile(archive) as zf:
        offset = zf.getinfo(member).header_offset
    raw = bytearray(archive.read_bytes())
    name, extra = struct.unpack("<HH", raw[offset + 26 : offset + 30])
    raw[offset + 30 + name + extra + 5] ^= 0xFF
    archive.write_bytes(bytes(raw))


def test_a_corrupt_zip_member_is_named_like_a_corrupt_chunk(tmp_path, capsys):
    archive = Path(write(make_example(size="tiny", seed=5), tmp_path / "a.zip"))
    flip_a_byte_of(archive, "particle/phase/c/0/0/0")
    report = validate(archive, level="data")
    assert report.codes() == {"data.unreadable-chunk", "data.corrupt-chunk"}, str(report)
    corrupt = next(f for f in report.errors if f.code == "data.corrupt-chunk")
    assert (corrupt.path, "particle/phase/c/0/0/0") == ("/particle/phase", "particle/phase/c/0/0/0")
    assert "particle/phase/c/0/0/0" in corrupt.message and "CRC-32" in corrupt.message
    assert main(["validate", str(archive), "--level", "data"]) == 1
    out = capsys.readouterr().out
    assert "internal-error" not in out and "please report" not in out
