"""The exported slicegan-nmc graph reproduces the torch generator (labels identical to torch's
argmax, probabilities within 1e-5) on cubic and non-cubic latents.

Needs the training environment (torch, onnx, onnxruntime, safetensors, tifffile); skipped where
torch is not installed (CI). Run it there with::

    .venv-train/bin/python -m pytest packages/training/tests/test_generate_torch.py -p no:cacheprovider
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("safetensors")
pytest.importorskip("tifffile")

FOLDER = Path(__file__).resolve().parents[3] / "models" / "slicegan-nmc"
GRIDS = [(4, 4, 4), (5, 5, 5), (4, 6, 8), (3, 5, 4)]


@pytest.fixture(scope="module")
def export():
    from fusion.training.slicegan import export

    return export


def exported(export, generator, tmp_path) -> ort.InferenceSession:
    out = tmp_path / "g.onnx"
    export.export(generator, out)
    assert out.stat().st_size < 15 * 2**20
    return ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])


def test_random_generator_is_reproduced(export, tmp_path):
    generator = export.random_generator(seed=3)
    found = export.compare(generator, exported(export, generator, tmp_path), GRIDS)
    assert found["max_abs_difference"] <= 1e-5
    assert found["label_mismatches"] == 0
    assert found["label_ties"] <= 10  # top two within 1e-5: rounding decides, either is right


def test_latest_checkpoint_is_reproduced_exactly(export, tmp_path):
    if export.latest_checkpoint(FOLDER / "checkpoints") is None:
        pytest.skip("no slicegan-nmc checkpoint yet")
    generator, _, _ = export.load_generator(None)
    found = export.compare(generator, exported(export, generator, tmp_path), GRIDS)
    assert found["max_abs_difference"] <= export.PROBABILITY_ATOL  # summation order: ~1e-5
    assert found["label_mismatches"] == 0


def test_generate_labels_of_the_model_equal_the_exported_labels(export, tmp_path):
    from fusion.training.slicegan.model import generate_labels

    generator = export.random_generator(seed=5)
    session = exported(export, generator, tmp_path)
    expected = generate_labels(generator, (4, 5, 3), seed=2).numpy()
    z = torch.randn(1, 16, 4, 5, 3, generator=torch.Generator().manual_seed(2)).numpy()
    (labels,) = session.run(["labels"], {"latent": z})
    assert np.mean(labels[0] == expected) > 0.9999


def soft_fractions(generator, latent: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return generator(latent).mean(dim=(0, 2, 3, 4))  # (P,)


def test_standing_statistics_match_the_weights_they_serve(export):
    """Eval-mode output with recomputed BatchNorm statistics is close to training-mode output
    (batch statistics); with the stale statistics a random generator carries it is not."""
    from fusion.training.slicegan.model import standing_statistics

    generator = export.random_generator(seed=7)
    latent = torch.randn(4, 16, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    batch_stats = soft_fractions(generator.train(), latent)
    stale = soft_fractions(generator.eval(), latent)
    rng_before = torch.get_rng_state()
    standing = soft_fractions(standing_statistics(generator), latent)
    assert not generator.training
    assert torch.equal(torch.get_rng_state(), rng_before)  # a training run's RNG is untouched
    assert (standing - batch_stats).abs().max() < 0.01
    assert (stale - batch_stats).abs().max() > 3 * (standing - batch_stats).abs().max()
    assert all(norm.momentum == 0.1 for norm in generator.norms)  # restored


def test_standing_statistics_are_reproducible(export):
    from fusion.training.slicegan.model import standing_statistics

    first = standing_statistics(export.random_generator(seed=7)).state_dict()
    again = standing_statistics(export.random_generator(seed=7)).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
