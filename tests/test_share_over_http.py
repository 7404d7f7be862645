"""Sharing through an fsspec URL: a dataset served over HTTP on 127.0.0.1 validates, opens, and
is pushed from there to a local folder, every object verified."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import xarray as xr

from fusion.cli import main
from fusion.schema import make_example, push, validate, write


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A read-only HTTP server on 127.0.0.1 over a folder holding the example dataset."""
    write(make_example(size="tiny", seed=7), tmp_path / "demo.zarr")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{base}/demo.zarr/zarr.json", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    yield f"{base}/demo.zarr"
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.network
def test_validate_and_open_over_http(served):
    report = validate(served, level="data")
    assert report.ok, str(report)
    tree = xr.open_datatree(served, engine="zarr")
    assert tree["particle"].phase.attrs["flag_meanings"] == "pore NMC CBD"
    assert main(["validate", served, "--level", "data"]) == 0


@pytest.mark.network
def test_missing_dataset_over_http_is_unreadable(served):
    assert main(["validate", served.replace("demo.zarr", "nothing.zarr")]) == 2


@pytest.mark.network
def test_push_from_a_web_server_to_a_folder(served, tmp_path):
    result = push(served, tmp_path / "copy.zarr")
    assert result.uploaded > 0 and not result.verified_only
    report = validate(tmp_path / "copy.zarr", level="data")
    assert report.ok and not report.findings, str(report)
    served_folder = tmp_path / "demo.zarr"  # what the server serves
    copied = {p.relative_to(tmp_path / "copy.zarr") for p in (tmp_path / "copy.zarr").rglob("*")}
    assert copied == {p.relative_to(served_folder) for p in served_folder.rglob("*")}
    with pytest.raises(OSError, match="cannot be written"):
        push(tmp_path / "copy.zarr", served.replace("demo.zarr", "up.zarr"))


def test_segment_reads_its_input_over_http(served, tmp_path, monkeypatch):
    import numpy as np

    from fusion.registry.testing import tiny_segmenter, write_registry
    from fusion.schema.testing import grey_image_tree

    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    models = {"tinyseg": {"0.1.0": tiny_segmenter(tmp_path / "seg")}}
    registry = str(write_registry(tmp_path / "registry.yaml", models=models))
    stack = np.random.default_rng(2).integers(0, 4000, (2, 32, 48), dtype=np.uint16)
    write(grey_image_tree(stack, 0.01), tmp_path / "grey.zarr")  # in the served folder
    url = served.replace("demo.zarr", "grey.zarr")
    out = tmp_path / "seg.zarr"
    argv = ["segment", "model:tinyseg", url, "-o", str(out), "--tile", "32", "--overlap", "16",
            "--device", "cpu", "--registry", registry]  # fmt: skip
    assert main(argv) == 0
    assert validate(out, level="data").ok
    activity = xr.open_datatree(out, engine="zarr").attrs["fusion"]["provenance"]["activities"]
    assert activity["segment"]["used"][1] == "/image/intensity"
