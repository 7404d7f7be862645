"""`fusion generate`: shape rules, seeds, provenance, and the command line, on a tiny generator."""

from __future__ import annotations

import copy
import datetime as dt
import time

import numpy as np
import pytest
import xarray as xr

from fusion.cli import main
from fusion.models import ShapeError, generate, latent_shape
from fusion.models._generate import GeneratorTile, tile_for
from fusion.models.testing import tiny_generator
from fusion.registry import ModelCard
from fusion.registry.testing import tiny_card, write_registry
from fusion.schema import validate


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    entry = tiny_generator(tmp_path / "tiny")
    return write_registry(tmp_path / "registry.yaml", models={"tiny": {"0.1.0": entry}})


def slicegan_like_card() -> ModelCard:
    raw = copy.deepcopy(tiny_card("t/x.npz", "0" * 64, 1, 0))
    for axis in raw["outputs"][0]["axes"][2:]:
        axis["size"] = {"tensor": "z", "axis": axis["name"], "scale": 32, "offset": -64}
    return ModelCard.model_validate(raw)


def test_latent_follows_the_card_size_rule():
    card = slicegan_like_card()
    assert latent_shape(card, (64, 128, 192)) == (1, 2, 4, 6, 8)
    with pytest.raises(ShapeError, match=r"nearest: \[96, 128\]"):
        latent_shape(card, (100, 64, 64))
    with pytest.raises(ShapeError, match="3-D volumes"):
        latent_shape(card, (64, 64))


def test_default_tiles_are_at_most_192_voxels_and_balanced_per_axis():
    card = slicegan_like_card()
    assert tile_for(card) == 8  # 32·(8 − 2) = 192 voxels
    # 256 voxels: two windows of 6 (128 + 128), not 8 and 4 (192 + 64); small axes: one window
    assert tile_for(card, (1, 2, 10, 34, 5)) == (6, 8, 5)


def test_generate_is_seeded_conforms_and_records_provenance(registry):
    a = generate("model:tiny", (3, 4, 5), seed=11, registry=registry, device="cpu")
    b = generate("model:tiny@0.1.0", (3, 4, 5), seed=11, registry=registry, device="cpu")
    c = generate("model:tiny", (3, 4, 5), seed=12, registry=registry, device="cpu")
    assert a["generated"].phase.shape == (3, 4, 5)
    np.testing.assert_array_equal(a["generated"].phase.values, b["generated"].phase.values)
    assert not np.array_equal(a["generated"].phase.values, c["generated"].phase.values)
    assert validate(a, level="data").ok
    activity = a.attrs["fusion"]["provenance"]["activities"]["run-model"]
    assert activity["parameters"]["seed"] == 11
    assert activity["parameters"]["device"] == "cpu"
    assert a.attrs["fusion"]["provenance"]["entities"]["model"]["ref"] == "model:tiny@0.1.0"


def test_generate_command_writes_a_dataset(registry, tmp_path, capsys):
    out = tmp_path / "gen.zarr"
    argv = ["generate", "model:tiny", "--shape", "4", "4", "4", "--seed", "3",
            "--device", "cpu", "--registry", str(registry), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "seed 3" in capsys.readouterr().out
    assert validate(out, level="data").ok


def test_generate_command_refuses_an_impossible_shape_in_one_line(registry, tmp_path, capsys):
    argv = ["generate", "model:tiny", "--shape", "0", "4", "4", "--registry", str(registry),
            "-o", str(tmp_path / "x.zarr")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be generated" in err[0]
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.parametrize("tile", [3, 4, 6])
def test_tiled_generation_equals_one_pass_generation(registry, tile):
    shape = (7, 9, 11)
    whole = generate("model:tiny", shape, seed=5, registry=registry, device="cpu", tile=None)
    tiled = generate("model:tiny", shape, seed=5, registry=registry, device="cpu", tile=tile)
    phase = tiled["generated"].phase
    assert phase.chunks is not None  # lazy: made tile by tile when written
    assert max(phase.chunks[0]) <= tile - 2  # memory bounded by the tile
    np.testing.assert_array_equal(phase.values, whole["generated"].phase.values)


def test_tiled_generation_streams_into_a_conforming_store(registry, tmp_path):
    from fusion.schema import write

    tree = generate("model:tiny", (10, 10, 10), seed=1, registry=registry, device="cpu", tile=5)
    write(tree, tmp_path / "big.zarr")
    assert validate(tmp_path / "big.zarr", level="data").ok


def test_a_voxel_size_given_by_the_caller_overrides_the_cards(registry, tmp_path):
    default = generate("model:tiny", (3, 4, 5), registry=registry, device="cpu")
    assert default["generated"].to_dataset().fusion.voxel_size_um == pytest.approx(
        (0.05, 0.05, 0.05)
    )
    tree = generate("model:tiny", (3, 4, 5), voxel_size_um=(0.5, 0.2, 0.2), registry=registry,
                    device="cpu")  # fmt: skip
    assert tree["generated"].to_dataset().fusion.voxel_size_um == pytest.approx((0.5, 0.2, 0.2))
    np.testing.assert_array_equal(tree["generated"].phase.values, default["generated"].phase.values)
    out = tmp_path / "gen.zarr"
    argv = ["generate", "model:tiny", "--shape", "3", "4", "5", "--voxel-size", "0.25",
            "--device", "cpu", "--registry", str(registry), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert validate(out).ok
    assert xr.open_datatree(out, engine="zarr")["generated"].x.values[1] == pytest.approx(0.25)


# -- times: a lazy volume's activity ends when it is written ----------------------------------


def _seconds(activity: dict) -> float:
    started, ended = (dt.datetime.fromisoformat(activity[k]) for k in ("started", "ended"))
    return (ended - started).total_seconds()


def test_the_generate_command_records_the_time_the_tiles_ran(registry, tmp_path, monkeypatch):
    """The tiles run inside ``write``: the activity ends after them, not when the graph was made."""
    run_tile = GeneratorTile.__call__

    def slow_tile(self, window):
        time.sleep(0.3)
        return run_tile(self, window)

    monkeypatch.setattr(GeneratorTile, "__call__", slow_tile)
    out = tmp_path / "gen.zarr"
    argv = ["generate", "model:tiny", "--shape", "4", "4", "4", "--device", "cpu",
            "--registry", str(registry), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    fusion = xr.open_datatree(out, engine="zarr").attrs["fusion"]
    activity = fusion["provenance"]["activities"]["run-model"]
    assert _seconds(activity) >= 0.3
    assert fusion["created"] == fusion["modified"] == activity["ended"]  # made by this run
    assert validate(out, level="data").ok


def test_a_volume_made_in_one_pass_keeps_the_times_it_was_made_with(registry, tmp_path):
    from fusion.schema import write

    tree = generate("model:tiny", (3, 4, 5), seed=2, registry=registry, device="cpu", tile=None)
    lazy = generate("model:tiny", (3, 4, 5), seed=2, registry=registry, device="cpu", tile=3)
    assert "fusion_ends_when_written" not in tree.attrs  # computed already: ended is right
    assert lazy.attrs["fusion_ends_when_written"] == ["run-model"]
    write(tree, tmp_path / "eager.zarr")
    stored = xr.open_datatree(tmp_path / "eager.zarr", engine="zarr").attrs
    assert stored == {"fusion": tree.attrs["fusion"]}
