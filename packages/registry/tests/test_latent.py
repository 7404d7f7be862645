"""Latents from seeds: the whole-draw PCG64 recipe, and the counter-based blocks recipe whose
windows are drawn alone, whatever the size of the whole."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.registry import (
    LATENT_BLOCK,
    LatentSpec,
    LatentTooLargeError,
    ModelCard,
    draw_latent,
)
from fusion.registry.testing import tiny_card

PCG = LatentSpec(tensor="z", distribution="standard-normal")
BLOCKS = LatentSpec(tensor="z", distribution="standard-normal", rng="numpy-philox-blocks")


def test_pcg64_is_numpys_default_rng_drawn_whole():
    expected = np.random.default_rng(9).standard_normal((1, 2, 5, 6, 7), dtype=np.float32)
    np.testing.assert_array_equal(draw_latent(PCG, (1, 2, 5, 6, 7), 9), expected)
    window = draw_latent(PCG, (1, 2, 5, 6, 7), 9, window=[(1, 4), (0, 6), (2, 3)])
    np.testing.assert_array_equal(window, expected[:, :, 1:4, :, 2:3])


def test_a_block_is_philox_keyed_by_the_seed_and_countered_by_its_position():
    b = LATENT_BLOCK
    latent = draw_latent(BLOCKS, (1, 2, 3 * b, 2 * b, b), 11)
    rng = np.random.Generator(np.random.Philox(key=11, counter=[0, 2, 1, 0]))
    block = rng.standard_normal((1, 2, b, b, b), dtype=np.float32)
    np.testing.assert_array_equal(latent[:, :, 2 * b :, b:, :], block)


@pytest.mark.parametrize(
    "window", [[(0, 9), (0, 9), (0, 9)], [(3, 7), (5, 6), (0, 9)], [(8, 9)] * 3]
)
def test_any_window_is_the_same_cells_of_the_whole(window):
    whole = draw_latent(BLOCKS, (1, 3, 9, 9, 9), 4)
    part = draw_latent(BLOCKS, (1, 3, 9, 9, 9), 4, window=window)
    np.testing.assert_array_equal(part, whole[:, :, *(slice(a, e) for a, e in window)])


def test_a_larger_latent_extends_a_smaller_one_and_seeds_differ():
    small = draw_latent(BLOCKS, (1, 2, 5, 6, 7), 3)
    large = draw_latent(BLOCKS, (1, 2, 13, 6, 30), 3)
    np.testing.assert_array_equal(large[:, :, :5, :, :7], small)
    assert not np.array_equal(small, draw_latent(BLOCKS, (1, 2, 5, 6, 7), 4))


def test_blocks_draw_the_distribution_the_card_names():
    normal = draw_latent(BLOCKS, (1, 4, 32, 32, 32), 0)
    assert normal.dtype == np.float32
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1) < 0.01
    uniform = draw_latent(BLOCKS.model_copy(update={"distribution": "uniform"}), (1, 1, 40, 40), 0)
    assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.01
    # neighbouring blocks are independent streams, not shifted copies of one
    assert abs(np.corrcoef(normal[0, 0, :4].ravel(), normal[0, 0, 4:8].ravel())[0, 1]) < 0.1


def test_a_window_of_a_huge_latent_costs_only_its_own_size():
    shape = (1, 16, 3127, 3127, 3127)  # 100000³ voxels of SliceGAN: 1.8 TiB whole
    window = draw_latent(BLOCKS, shape, 7, window=[(3000, 3010), (0, 10), (100, 110)])
    assert window.shape == (1, 16, 10, 10, 10)
    with pytest.raises(LatentTooLargeError, match=r"1,822\.5 GiB.*numpy-philox-blocks"):
        draw_latent(PCG, shape, 7, window=[(0, 10)] * 3)


def test_bad_windows_and_seeds_are_refused():
    with pytest.raises(ValueError, match="not inside"):
        draw_latent(BLOCKS, (1, 2, 5, 5, 5), 0, window=[(0, 6), (0, 5), (0, 5)])
    with pytest.raises(ValueError, match=r"seed is in \[0, 2\*\*128\)"):
        draw_latent(BLOCKS, (1, 2, 5, 5, 5), -1)


def test_a_blocks_latent_must_be_batch_channel_then_space():
    raw = tiny_card("t/x.npz", "0" * 64, 1, 0)
    raw["latent"]["rng"] = "numpy-philox-blocks"
    ModelCard.model_validate(raw)  # (b, c, z, y, x): fine
    raw["inputs"][0]["axes"] = raw["inputs"][0]["axes"][::-1]
    with pytest.raises(ValueError, match="batch, channel, then 1 to 3 space axes"):
        ModelCard.model_validate(raw)
