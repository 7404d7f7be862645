"""Any size streams: a counter-based latent drawn tile by tile gives the same volume whatever
the tiling; a volume the target's disk cannot hold, or too many tiles to schedule, is refused
before anything runs (#25)."""

from __future__ import annotations

import shutil
from collections import namedtuple

import numpy as np
import pytest

import fusion.registry
from fusion.cli import main
from fusion.models import TooManyTilesError, generate
from fusion.models.testing import tiny_generator
from fusion.registry.testing import write_registry
from fusion.schema import validate

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    blocks = tiny_generator(tmp_path / "blocks", latent_rng="numpy-philox-blocks")
    whole = tiny_generator(tmp_path / "whole")
    models = {"blocks": {"0.1.0": blocks}, "whole": {"0.1.0": whole}}
    return write_registry(tmp_path / "registry.yaml", models=models)


def _phase(registry, shape, tile, seed=5, model="model:blocks"):
    tree = generate(model, shape, seed=seed, registry=registry, device="cpu", tile=tile)
    return tree["generated"].phase


@pytest.mark.parametrize("tile", [3, 4, 7, (3, 5, 9)])
def test_the_same_seed_gives_the_same_volume_whatever_the_tiling(registry, tile):
    shape = (9, 11, 13)
    whole = _phase(registry, shape, None).values
    np.testing.assert_array_equal(_phase(registry, shape, tile).values, whole)
    assert not np.array_equal(whole, _phase(registry, shape, None, seed=6).values)


def test_each_tile_draws_only_its_own_window(registry, monkeypatch):
    drawn = []
    real = fusion.registry.draw_latent

    def spy(spec, shape, seed, *, window=None):
        drawn.append(window)
        return real(spec, shape, seed, window=window)

    monkeypatch.setattr(fusion.registry, "draw_latent", spy)
    phase = _phase(registry, (8, 8, 8), 4)
    assert drawn == [[(0, 1)] * 3]  # the seed is checked; nothing is drawn until written
    phase.values  # noqa: B018  (runs the tiles)
    windows = drawn[1:]
    assert len(windows) == 4**3 and all(e - a == 4 for w in windows for a, e in w)


def test_a_tiled_run_of_a_blocks_latent_keeps_no_latent(registry):
    tree = generate("model:blocks", (8, 8, 8), seed=1, registry=registry, device="cpu", tile=4)
    activity = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]
    assert activity["parameters"]["latent_rng"] == "numpy-philox-blocks"
    assert activity["parameters"]["input_shapes"] == {"z": [1, 2, 10, 10, 10]}
    assert validate(tree, level="data").ok
    whole_rng = generate("model:whole", (8, 8, 8), seed=1, registry=registry, device="cpu")
    assert (
        whole_rng.attrs["fusion"]["provenance"]["activities"]["run-model"]["parameters"][
            "latent_rng"
        ]
        == "numpy-pcg64"
    )


def test_too_many_tiles_are_refused_before_any_runs(registry):
    with pytest.raises(TooManyTilesError, match=r"needs 1,000,000 tiles of 1×1×1 voxels"):
        generate("model:blocks", (100, 100, 100), registry=registry, device="cpu", tile=3)


def _generate_argv(registry, shape, out, *extra):
    return ["generate", "model:blocks", "--shape", *map(str, shape), "--device", "cpu",
            "--registry", str(registry), "-o", str(out), *extra]  # fmt: skip


def test_a_volume_the_disk_cannot_hold_is_refused_with_its_size_and_the_free_room(
    registry, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 50 * 2**30))
    out = tmp_path / "huge.zarr"
    assert main(_generate_argv(registry, (100000, 100000, 100000), out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "a 100000×100000×100000 volume of phase (uint8) is 909.5 TiB uncompressed" in err[0]
    assert f"{tmp_path} has 50.0 GiB free" in err[0]
    assert not out.exists() and list(tmp_path.glob(".huge.zarr*")) == []


def test_a_volume_that_fits_only_compressed_is_written_with_a_note(
    registry, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 400))
    out = tmp_path / "small.zarr"
    assert main(_generate_argv(registry, (8, 8, 8), out)) == 0  # 512 B of phase, 400 B free
    err = capsys.readouterr().err
    assert "it fits only if it compresses 1.3× or better" in err
    assert validate(out, level="data").ok


def test_a_zip_needs_room_for_its_folder_and_its_archive(registry, tmp_path, monkeypatch, capsys):
    from fusion.schema import NoRoomError, check_room

    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 1000))
    assert check_room(tmp_path / "a.zarr", 100_000).nbytes == 100_000  # 100× 1000: fits
    with pytest.raises(NoRoomError, match=r"195\.3 KiB uncompressed"):
        check_room(tmp_path / "a.zip", 100_000)
    assert check_room("memory://a.zarr", 10**18) is None  # no disk to ask
