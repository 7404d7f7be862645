"""models/slicegan-nmc/evaluate.py's comparison of generated volumes with the training image."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def evaluate():
    from fusion.training.slicegan import evaluate

    return evaluate


def blocks(shape: tuple[int, ...], widths: tuple[int, ...]) -> np.ndarray:
    """Labels (sum of coordinate // width) mod 3: blocks of three phases, ``widths`` px per axis."""
    grids = np.indices(shape)
    return (sum(g // w for g, w in zip(grids, widths, strict=True)) % 3).astype(np.uint8)


def test_a_volume_whose_every_axis_reads_as_the_image_meets_every_target(evaluate):
    image = evaluate.image_statistics(blocks((72, 72), (3, 3)))
    volume = evaluate.volume_statistics(blocks((72, 72, 72), (3, 3, 3)))
    result = evaluate.compare(image, [volume])
    for r in result.values():
        assert r["fraction_abs"] == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(r["surface_rel_per_axis"], 0.0, atol=1e-12)
        np.testing.assert_allclose(r["s2_rms_per_axis"], 0.0, atol=1e-12)
        np.testing.assert_allclose(r["s2_axis_offset_rms"], 0.0, atol=1e-12)
        np.testing.assert_allclose(r["s2_per_axis"][1], r["s2_image"], atol=1e-5)


def test_a_volume_stretched_along_y_shows_there_in_s2_and_its_offset(evaluate):
    image = evaluate.image_statistics(blocks((72, 72), (3, 3)))
    stretched = evaluate.volume_statistics(blocks((72, 72, 72), (3, 6, 3)))
    result = evaluate.compare(image, [stretched])
    for r in result.values():
        rms, offset = np.array(r["s2_rms_per_axis"]), np.array(r["s2_axis_offset_rms"])
        assert rms[1] > 0.05 and rms[0] < 1e-12 and rms[2] < 1e-12
        assert offset.argmax() == 1 and offset[1] == pytest.approx(2 * offset[0], rel=1e-9)
