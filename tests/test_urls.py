"""Every command that reads or writes takes an fsspec URL: ``fusion load``, ``generate`` and
``segment`` to and from ``memory://`` here; S3 and HTTP in test_share_over_s3.py and
test_share_over_http.py."""

from __future__ import annotations

import uuid

import fsspec
import pytest

from fusion.cli import main
from fusion.registry.testing import (
    tiny_model_registry,
)
from fusion.schema import validate


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    return str(tiny_model_registry(tmp_path, generator="tiny", segmenter="tinyseg"))


@pytest.fixture
def memory():
    """A fresh folder of fsspec's in-process memory filesystem, removed afterwards."""
    root = f"memory://fusion-{uuid.uuid4().hex[:8]}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_load_segment_and_generate_read_and_write_urls(instruments, registry, memory, capsys):
    sem, seg, gen = f"{memory}/sem.zarr", f"{memory}/seg.zarr", f"{memory}/gen.zarr"
    image = instruments / "sem" / "test_tiff_Zeiss_SEM_1k.tif"
    assert main(["load", "sem", str(image), "-o", sem]) == 0
    assert main(["segment", "model:tinyseg", sem, "-o", seg, "--tile", "256",
                 "--device", "cpu", "--registry", registry]) == 0  # fmt: skip
    assert main(["generate", "model:tiny", "--shape", "5", "6", "7", "--device", "cpu",
                 "--registry", registry, "-o", gen]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0] for line in printed] == [f"wrote {p}" for p in (sem, seg, gen)]
    for url in (sem, seg, gen):
        assert validate(url, level="data").ok, url
    assert main(["load", "sem", str(image), "-o", sem]) == 2  # exists: kept, not replaced
    assert "exists" in capsys.readouterr().err
