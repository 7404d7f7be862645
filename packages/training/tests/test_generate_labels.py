"""`generate` on a model shaped like the exported slicegan-nmc (sub-pixel graph, ``labels`` and
``probabilities`` outputs, ``fusion.argmax_of`` metadata), but narrow: the argmax channel is
made from ``labels`` alone, the Softmax branch pruned away, tiles join exactly, and the card
with both outputs passes ``fusion registry check``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fusion.models import generate
from fusion.registry import LatentSpec, check_registry, draw_latent
from fusion.registry.testing import write_registry

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

WIDTHS, PADDINGS = (2, 6, 5, 3), (2, 2, 3)  # three layers: out = 8·(l − 2)
SEED = 0


def load_runtime_graph():
    from fusion.training.slicegan import runtime_graph

    return runtime_graph


def card(npz: Path) -> dict:
    def axes(kind_c: dict | None, size: dict) -> list[dict]:
        space = [{"name": n, "type": "space", "size": dict(size, axis=n) if "tensor" in size else dict(size)} for n in "zyx"]  # fmt: skip
        return [{"name": "b", "type": "batch"}, *([kind_c] if kind_c else []), *space]

    rule = {"tensor": "latent", "scale": 8, "offset": -16}
    phases = {"name": "c", "type": "channel", "size": 3, "channel_names": ["pore", "NMC", "CBD"]}
    return {
        "description": "A narrow SliceGAN-shaped generator for the tests.",
        "task": "generate-3d",
        "inputs": [{"name": "latent", "description": "latent noise", "dtype": "float32",
                    "axes": axes({"name": "c", "type": "channel", "size": 2}, {"min": 3, "step": 1})}],
        "outputs": [
            {"name": "labels", "description": "argmax of probabilities", "dtype": "uint8",
             "axes": axes(None, rule)},
            {"name": "probabilities", "description": "phase probabilities", "dtype": "float32",
             "axes": axes(phases, rule)},
        ],
        "latent": {"tensor": "latent", "distribution": "standard-normal"},
        "channels": [{"tensor": "probabilities", "name": "phase", "transform": "argmax",
                      "dtype": "uint8", "long_name": "phase label", "units": "1", "modality": "SEM",
                      "flag_values": [0, 1, 2], "flag_meanings": "pore NMC CBD", "voxel_size_um": 0.5}],
        "training_data": [{"uri": "file://none", "description": "random weights"}],
        "license": "MIT",
        "authors": [{"name": "tests"}],
        "citation": [{"text": "Kench & Cooper 2021"}],
        "test_tensors": {"url": f"m/{npz.name}", "sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
                         "size": npz.stat().st_size, "seed": SEED,
                         "tolerance": {"rtol": 0, "atol": 1e-6}},
    }  # fmt: skip


@pytest.fixture
def shaped(tmp_path, monkeypatch):
    """(registry path, onnxruntime session of the full model)."""
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    rg = load_runtime_graph()
    model = rg.build_runtime_model(rg.random_layers(WIDTHS, PADDINGS, seed=6, scale=2.0))
    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "g.onnx"
    onnx.save(model, path)
    full = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    z = draw_latent(
        LatentSpec(tensor="latent", distribution="standard-normal"), (1, 2, 4, 4, 4), SEED
    )
    labels, probabilities = full.run(["labels", "probabilities"], {"latent": z})
    npz = folder / "g-test.npz"
    np.savez(npz, latent=z, labels=labels, probabilities=probabilities)
    entry = {"url": "m/g.onnx", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
             "size": path.stat().st_size, "card": card(npz)}  # fmt: skip
    return write_registry(tmp_path / "registry.yaml", models={"g": {"0.1.0": entry}}), full


def expected_phase(full, shape, seed):
    latent = (1, 2, *(s // 8 + 2 for s in shape))
    z = draw_latent(LatentSpec(tensor="latent", distribution="standard-normal"), latent, seed)
    (probabilities,) = full.run(["probabilities"], {"latent": z})
    return probabilities[0].argmax(0)


def test_argmax_channel_is_made_from_the_labels_output_alone(shaped):
    registry, full = shaped
    tree = generate("model:g", (16, 24, 32), seed=4, registry=registry, device="cpu", tile=None)
    parameters = tree.attrs["fusion"]["provenance"]["activities"]["run-model"]["parameters"]
    assert parameters["outputs_run"] == ["labels"]
    assert parameters["threads"] >= 1
    phase = tree["generated"].phase
    assert phase.dtype == np.uint8 and phase.shape == (16, 24, 32)
    np.testing.assert_array_equal(phase.values, expected_phase(full, (16, 24, 32), 4))


@pytest.mark.parametrize("tile", [3, 4, "auto"])
def test_tiles_of_the_labels_output_join_exactly(shaped, tile):
    registry, full = shaped
    tree = generate("model:g", (24, 40, 16), seed=2, registry=registry, device="cpu", tile=tile)
    phase = tree["generated"].phase
    assert phase.chunks is not None
    np.testing.assert_array_equal(phase.values, expected_phase(full, (24, 40, 16), 2))


def test_a_card_with_labels_and_probabilities_passes_the_registry_check(shaped):
    registry, _ = shaped
    report = check_registry(registry)
    (entry,) = report.results
    assert not entry.failures, entry.failures
    assert "test tensors" in entry.passed


def test_the_model_file_is_read_and_checked_once_per_generation(shaped, monkeypatch):
    """The outputs, the metadata and the session all come from one read of the verified file;
    the tiles reuse the session."""
    registry, _ = shaped
    reads = []
    read_bytes = Path.read_bytes

    def counting(self):
        if self.suffix == ".onnx":
            reads.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    tree = generate("model:g", (16, 24, 32), seed=5, registry=registry, device="cpu", tile=3)
    phase = tree["generated"].phase.values  # the tiles run here
    assert phase.shape == (16, 24, 32) and len(reads) == 1
