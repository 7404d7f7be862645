"""`push` to folders, zip files and an in-memory object store: every object verified, the
destination marked incomplete until then, resumed after a stop, compared when it exists."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import xarray as xr

from fusion.cli import main
from fusion.schema import (
    ChunkMismatchError,
    UnreadableStoreError,
    WriteError,
    make_example,
    push,
    validate,
    write,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return Path(write(make_example(size="tiny", seed=9), tmp_path_factory.mktemp("s") / "s.zarr"))


def _objects(store: Path) -> dict[str, bytes]:
    return {
        p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*") if p.is_file()
    }


class Stop(Exception):
    """A simulated interruption (a dropped connection, a killed process)."""


def _stop_after(calls: int):
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) > calls:
            raise Stop(f"stopped after {done} of {total} bytes")

    return progress


def test_a_folder_copy_is_byte_identical_and_reports_what_it_did(source, tmp_path):
    calls = []
    result = push(source, tmp_path / "copy.zarr", progress=lambda d, t: calls.append((d, t)))
    assert _objects(tmp_path / "copy.zarr") == _objects(source)
    chunks = sum(1 for k in _objects(source) if not k.endswith(".json"))
    metadata = sum(1 for k in _objects(source) if k.endswith("zarr.json")) - 1
    assert result.uploaded == chunks + metadata and result.kept == result.deleted == 0
    assert result.objects == len(_objects(source)) and not result.verified_only
    total = sum(len(v) for k, v in _objects(source).items() if "fusion_chunks" not in k)
    assert calls[-1] == (result.bytes, result.bytes) and result.bytes == total - len(
        (source / "zarr.json").read_bytes()
    )
    assert validate(tmp_path / "copy.zarr", level="data").ok


def test_pushing_again_only_compares(source, tmp_path):
    push(source, tmp_path / "copy.zarr")
    again = push(source, tmp_path / "copy.zarr")
    assert again.verified_only and again.uploaded == 0


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda s: (s / "particle/phase/c/0/0/0").unlink(), "particle/phase/c/0/0/0 (missing)"),
        (lambda s: (s / "particle/phase/c/0/0/0").write_bytes(b"x"), "particle/phase/c/0/0/0 ("),
        (lambda s: (s / "electrode/phase/c/9").write_bytes(b"x"), "electrode/phase/c/9 (not in"),
    ],
)
def test_a_damaged_copy_is_named_and_repaired_by_overwrite(source, tmp_path, damage, named):
    dest = tmp_path / "copy.zarr"
    push(source, dest)
    damage(dest)
    with pytest.raises(ChunkMismatchError, match="exists and differs") as caught:
        push(source, dest)
    assert named in str(caught.value) and "overwrite=True" in str(caught.value)
    repaired = push(source, dest, overwrite=True)
    assert repaired.uploaded + repaired.deleted == 1
    assert _objects(dest) == _objects(source)


def test_an_interrupted_push_never_validates_and_resumes(source, tmp_path, capsys):
    dest = tmp_path / "copy.zarr"
    with pytest.raises(WriteError, match="marked incomplete: run the same push again") as caught:
        push(source, dest, progress=_stop_after(4))
    assert isinstance(caught.value.__cause__, Stop)
    assert json.loads((dest / "zarr.json").read_text())["attributes"]["fusion_incomplete"]
    assert not (dest / "particle/phase/fusion_chunks.json").exists()
    report = validate(dest, level="data")
    assert "root.incomplete-write" in report.codes()
    assert main(["validate", str(dest)]) == 1
    assert "root.incomplete-write" in capsys.readouterr().out

    resumed = push(source, dest)  # no --overwrite needed: the destination is incomplete
    assert resumed.resumed and resumed.kept >= 4 and resumed.uploaded >= 1
    assert _objects(dest) == _objects(source)
    assert validate(dest, level="data").ok


def test_an_upload_that_reads_back_wrong_is_named_and_stays_incomplete(source, monkeypatch):
    from fusion.schema.store._objects import Objects

    real_write = Objects.write

    def lossy_write(self, key, data):  # a store that silently truncates one object
        real_write(self, key, data[:-3] if key == "particle/phase/c/0/0/0" else data)

    monkeypatch.setattr(Objects, "write", lossy_write)
    url = "memory://push-test/lossy.zarr"
    with pytest.raises(ChunkMismatchError, match="read back different") as caught:
        push(source, url)
    assert "particle/phase/c/0/0/0 (expected sha256" in str(caught.value)
    report = validate(url, level="data")
    assert "root.incomplete-write" in report.codes() and not report.ok
    monkeypatch.setattr(Objects, "write", real_write)
    resumed = push(source, url)
    assert resumed.resumed and resumed.uploaded == 1
    assert validate(url, level="data").ok


def test_a_zip_destination_is_reproducible_and_verified(source, tmp_path):
    first = push(source, tmp_path / "a.zip")
    second = push(source, tmp_path / "b.zip")
    data = (tmp_path / "a.zip").read_bytes()
    assert first.archive == second.archive
    assert first.archive.sha256 == hashlib.sha256(data).hexdigest()
    assert first.archive.size == len(data)
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert {k: zf.read(k) for k in zf.namelist()} == _objects(source)
    assert validate(tmp_path / "a.zip", level="data").ok
    assert push(source, tmp_path / "a.zip").verified_only
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_a_zip_source_goes_to_an_object_store(source, tmp_path):
    push(source, tmp_path / "a.zip")
    url = "memory://push-test/from-zip.zarr"
    result = push(tmp_path / "a.zip", url)
    assert result.uploaded > 0 and validate(url, level="data").ok
    tree = xr.open_datatree(url, engine="zarr")
    original = xr.open_datatree(source, engine="zarr")
    xr.testing.assert_identical(tree["particle"].orientation, original["particle"].orientation)


def test_a_damaged_source_is_refused_naming_the_chunk(source, tmp_path):
    damaged = tmp_path / "damaged.zarr"
    shutil.copytree(source, damaged)
    (damaged / "particle/grain_id/c/0/0/0").write_bytes(b"flipped")
    with pytest.raises(ChunkMismatchError, match=r"damaged: particle/grain_id/c/0/0/0 does not"):
        push(damaged, tmp_path / "copy.zarr")
    (damaged / "particle/grain_id/c/0/0/0").unlink()
    with pytest.raises(ChunkMismatchError, match=r"particle/grain_id/c/0/0/0 listed .* absent"):
        push(damaged, tmp_path / "other.zarr")
    assert not (tmp_path / "other.zarr").exists()


def test_an_incomplete_or_missing_source_is_refused(source, tmp_path):
    marked = tmp_path / "marked.zarr"
    shutil.copytree(source, marked)
    root = json.loads((marked / "zarr.json").read_text())
    root["attributes"]["fusion_incomplete"] = "write started 2026-01-01T00:00:00+00:00"
    (marked / "zarr.json").write_text(json.dumps(root))
    with pytest.raises(UnreadableStoreError, match="marked incomplete"):
        push(marked, tmp_path / "copy.zarr")
    with pytest.raises(UnreadableStoreError, match=r"no zarr\.json at its root"):
        push(tmp_path / "nothing.zarr", tmp_path / "copy.zarr")
    assert not (tmp_path / "copy.zarr").exists()


def test_pushing_a_store_onto_itself_is_refused(source):
    with pytest.raises(WriteError, match="is the source itself"):
        push(source, source / ".." / source.name, overwrite=True)


def test_a_folder_that_is_not_a_dataset_is_kept_without_overwrite(source, tmp_path):
    dest = tmp_path / "notes"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(WriteError, match="no fusion dataset"):
        push(source, dest)
    assert (dest / "notes.txt").read_text() == "keep me"
    push(source, dest, overwrite=True)
    assert not (dest / "notes.txt").exists() and validate(dest, level="data").ok


def test_the_command_prints_one_line_and_exits_by_outcome(source, tmp_path, capsys):
    dest = tmp_path / "copy.zarr"
    assert main(["push", str(source), str(dest)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"pushed {source} to {dest}:") and "every object verified" in line
    assert main(["push", str(source), str(dest)]) == 0
    assert "already holds" in capsys.readouterr().out
    (dest / "particle/composition/c/0/0/0/0").write_bytes(b"0")
    assert main(["push", str(source), str(dest)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusion push: error:") and "particle/composition/c/0/0/0/0" in err
    assert main(["push", str(tmp_path / "nothing.zarr"), str(dest)]) == 2
    assert main(["push", str(source), str(tmp_path / "a.zip")]) == 0
    digest = hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest()
    assert f"archive sha256 {digest}" in capsys.readouterr().out


def test_the_summary_says_what_every_object_is_and_the_counts_add_up(source, tmp_path, capsys):
    import re

    stored = _objects(source)
    chunks = sum(1 for k in stored if not k.endswith(".json"))
    manifests = sum(1 for k in stored if k.endswith("fusion_chunks.json"))
    metadata = sum(1 for k in stored if k.endswith("zarr.json"))
    for dest in (tmp_path / "copy.zarr", tmp_path / "copy.zip"):
        assert main(["push", str(source), str(dest)]) == 0
        line = capsys.readouterr().out
        assert (
            f"{len(stored)} objects ({chunks} chunks, {metadata} metadata documents, "
            f"{manifests} chunk manifests)" in line
        )
        counts = re.search(
            r"\((\d+) copied, (\d+) already there, (\d+) chunk manifests and the root "
            r"zarr.json written last, (\d+) deleted\)",
            line,
        )
        assert counts is not None, line
        copied, kept, last, _ = (int(n) for n in counts.groups())
        assert copied + kept + last + 1 == len(stored) and last == manifests


def test_a_corrupt_member_of_a_zip_source_is_named(source, tmp_path, capsys):
    from test_manifest import flip_a_byte_of

    archive = tmp_path / "s.zip"
    assert main(["push", str(source), str(archive)]) == 0
    flip_a_byte_of(archive, "particle/grain_id/c/0/0/0")
    with pytest.raises(ChunkMismatchError, match=r"damaged: particle/grain_id/c/0/0/0 .*CRC-32"):
        push(archive, tmp_path / "copy.zarr")
    capsys.readouterr()
    assert main(["push", str(archive), str(tmp_path / "other.zarr")]) == 1
    err = capsys.readouterr().err
    assert "particle/grain_id/c/0/0/0" in err and "BadZipFile" not in err
