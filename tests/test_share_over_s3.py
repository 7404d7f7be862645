"""Sharing through an object store: write to an S3 API server on 127.0.0.1 (moto, started by the
test), open with plain xarray, validate remotely; a crashed write never validates."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import xarray as xr

from fusion.cli import main
from fusion.schema import make_example, validate, write

CREDENTIALS = {"key": "testing", "secret": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    """An S3 API server on 127.0.0.1 with one bucket; yields the storage options to reach it."""
    import s3fs
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", **CREDENTIALS}
    s3fs.S3FileSystem(**options, skip_instance_cache=True).makedirs("shared", exist_ok=True)
    yield options
    server.stop()


@pytest.mark.network
def test_write_open_and_validate_on_s3(s3):
    tree = make_example(size="tiny", seed=4)
    url = "s3://shared/nmc/demo.zarr"
    write(tree, url, storage_options=s3)
    report = validate(url, level="data", storage_options=s3)
    assert report.ok, str(report)
    remote = xr.open_datatree(url, engine="zarr", storage_options=s3)
    np.testing.assert_array_equal(remote["particle"].phase.values, tree["particle"].phase.values)
    assert remote["particle"].phase.attrs["flag_meanings"] == "pore NMC CBD"
    option = f"endpoint_url={s3['endpoint_url']}"
    argv = ["validate", url, "--level", "data", "--storage-option", option,
            "--storage-option", "key=testing", "--storage-option", "secret=testing"]  # fmt: skip
    assert main(argv) == 0


@pytest.mark.network
def test_existing_remote_dataset_is_kept_without_overwrite(s3):
    url = "s3://shared/keep-test.zarr"
    write(make_example(size="tiny", seed=1), url, storage_options=s3)
    with pytest.raises(OSError, match="exists"):
        write(make_example(size="tiny", seed=2), url, storage_options=s3)
    seed = xr.open_datatree(url, engine="zarr", storage_options=s3).attrs["fusion"]["provenance"][
        "activities"
    ]["generate-example"]["parameters"]["seed"]
    assert seed == 1


@pytest.mark.network
def test_load_segment_and_generate_to_and_from_s3(s3, instruments, tmp_path, monkeypatch):
    from fusion.registry.testing import tiny_generator, tiny_segmenter, write_registry

    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    models = {
        "tiny": {"0.1.0": tiny_generator(tmp_path / "gen")},
        "tinyseg": {"0.1.0": tiny_segmenter(tmp_path / "seg")},
    }
    registry = str(write_registry(tmp_path / "registry.yaml", models=models))
    options = [f"--storage-option={key}={value}" for key, value in s3.items()]
    sem, seg, gen = "s3://shared/sem.zarr", "s3://shared/seg.zarr", "s3://shared/gen.zarr"
    image = instruments / "sem" / "test_tiff_Zeiss_SEM_1k.tif"
    assert main(["load", "sem", str(image), "-o", sem, *options]) == 0
    assert main(["segment", "model:tinyseg", sem, "-o", seg, "--tile", "256", "--device", "cpu",
                 "--registry", registry, *options]) == 0  # fmt: skip
    assert main(["generate", "model:tiny", "--shape", "5", "6", "7", "--device", "cpu",
                 "--registry", registry, "-o", gen, *options]) == 0  # fmt: skip
    for url in (sem, seg, gen):
        assert validate(url, level="data", storage_options=s3).ok, url
    labels = xr.open_datatree(seg, engine="zarr", storage_options=s3)["image"]["phase"]
    assert labels.attrs["origin"] == "inferred"
