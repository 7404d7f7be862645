"""The sub-pixel SliceGAN graph (fusion.training.slicegan.runtime_graph) equals the transposed-conv
generator, and the runtime prunes a graph to the outputs it fetches. numpy + onnx + onnxruntime
only (no torch): the reference is the plain ConvTranspose → Relu … → Softmax graph, run by
onnxruntime, on the same random weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fusion.models._genonnx import metadata, output_names, prune_outputs

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

WIDTHS = (16, 256, 128, 64, 32, 3)  # the slicegan-nmc generator
PADDINGS = (2, 2, 2, 2, 3)


@pytest.fixture(scope="module")
def rg():
    from fusion.training.slicegan import runtime_graph

    return runtime_graph


@pytest.fixture(scope="module")
def slicegan(rg):
    """The slicegan-nmc architecture with random weights: (layers, reference, shaped model)."""
    layers = rg.random_layers(WIDTHS, PADDINGS, seed=1)
    return layers, rg.build_reference_model(layers), rg.build_runtime_model(layers)


def session(model) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def latent(grid, channels=16, seed=3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, channels, *grid), dtype=np.float32)


def assert_same_generator(reference, shaped, z):
    (expected,) = reference.run(None, {"latent": z})
    labels, probabilities = shaped.run(["labels", "probabilities"], {"latent": z})
    assert probabilities.shape == expected.shape
    assert labels.shape == (expected.shape[0], *expected.shape[2:]) and labels.dtype == np.uint8
    np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
    top2 = np.sort(expected, axis=1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) > 1e-5  # not a tie within rounding
    np.testing.assert_array_equal(labels[decided], expected.argmax(1)[decided])
    assert decided.mean() > 0.99


@pytest.mark.parametrize("grid", [(4, 4, 4), (3, 5, 4), (4, 3, 6)])
def test_subpixel_graph_equals_the_transposed_conv_generator(slicegan, grid):
    _, reference, shaped = slicegan
    reference, shaped = session(reference), session(shaped)
    z = latent(grid)
    assert_same_generator(reference, shaped, z)
    assert shaped.run(["labels"], {"latent": z})[0].shape == (1, *(32 * (g - 2) for g in grid))


@pytest.mark.parametrize(
    ("paddings", "grid"),
    [((2, 2, 3), (3, 4, 5)), ((2, 2, 2), (3, 4, 5)), ((2, 3), (3, 4, 5)), ((2, 4, 5), (6, 7, 8))],
)
def test_other_paddings_on_a_narrow_generator(rg, paddings, grid):
    widths = (2, 6, 5, 3)[: len(paddings) + 1]
    layers = rg.random_layers(widths, paddings, seed=2, scale=2.0)
    reference = session(rg.build_reference_model(layers))
    shaped = session(rg.build_runtime_model(layers))
    assert_same_generator(reference, shaped, latent(grid, channels=2))


def test_odd_padding_is_refused_before_the_last_layer(rg):
    layers = rg.random_layers((2, 4, 3), (3, 2))
    with pytest.raises(ValueError, match="odd padding"):
        rg.build_runtime_model(layers)


def test_the_graph_has_no_transposed_convolution_and_no_softmax(slicegan):
    model = slicegan[2]
    ops = {node.op_type for node in model.graph.node}
    assert "Conv" in ops and not ops & {"ConvTranspose", "Softmax", "BatchNormalization"}
    assert model.ByteSize() < 15 * 2**20


def test_batchnorm_folding_matches_batchnorm(rg):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((3, 4, 4, 4, 4)).astype(np.float32)
    gamma, beta, mean = (rng.standard_normal(4).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, 4).astype(np.float32)
    folded, bias = rg.fold_batchnorm(weight, gamma, beta, mean, var, 1e-5)
    y = rng.standard_normal(4)  # one conv output per channel
    expected = gamma * (y - mean) / np.sqrt(var + 1e-5) + beta
    # a conv output scales with the weight: y' = scale · y, plus the folded bias
    scale = folded[0, :, 0, 0, 0] / weight[0, :, 0, 0, 0]
    np.testing.assert_allclose(scale * y + bias, expected, rtol=1e-5, atol=1e-5)


def test_multiply_adds_per_voxel_is_the_large_volume_limit(rg):
    assert rg.macs_per_voxel(WIDTHS) == 8 + 512 + 1024 + 2048 + 768  # = 4360
    # counted on the sub-pixel graph for a big latent: (l_in − 1)³ windows, 64·c_in·c_out each
    size, total, latent_edge = 40, 0, 40
    for c_in, c_out in itertools.pairwise(WIDTHS):
        total += (size - 1) ** 3 * 64 * c_in * c_out
        size = 2 * size - 2
    voxels = (32 * (latent_edge - 2)) ** 3
    assert total / voxels == pytest.approx(rg.macs_per_voxel(WIDTHS), rel=0.1)


def test_pruning_to_labels_drops_the_softmax_branch_and_keeps_the_labels(rg, slicegan):
    full = slicegan[2].SerializeToString()
    assert metadata(full) == {rg.ARGMAX_KEY: "labels=probabilities"}
    assert output_names(full) == ["probabilities", "labels"]
    pruned = prune_outputs(full, ["labels"])
    checked = onnx.load_from_string(pruned)
    onnx.checker.check_model(checked)
    assert [o.name for o in checked.graph.output] == ["labels"]
    assert not {n.op_type for n in checked.graph.node} & {"Exp", "ReduceSum", "Div"}
    assert metadata(pruned) == metadata(full)
    z = latent((4, 3, 4))
    labels = ort.InferenceSession(pruned, providers=["CPUExecutionProvider"]).run(
        None, {"latent": z}
    )
    expected = ort.InferenceSession(full, providers=["CPUExecutionProvider"]).run(
        ["labels"], {"latent": z}
    )
    np.testing.assert_array_equal(labels[0], expected[0])
    with pytest.raises(KeyError, match="not outputs"):
        prune_outputs(full, ["logits"])


def test_pruning_to_every_output_keeps_the_model_working(rg):
    model = rg.build_runtime_model(rg.random_layers((2, 4, 3), (2, 3))).SerializeToString()
    pruned = prune_outputs(model, ["labels", "probabilities"])
    assert output_names(pruned) == ["probabilities", "labels"]
    onnx.checker.check_model(onnx.load_from_string(pruned))


def test_layers_read_back_from_the_graph_are_the_ones_it_was_built_from(rg, slicegan):
    """`runtime_layers` inverts `build_runtime_model`'s weights exactly (a warm start of training
    from a release relies on it), the odd last padding included."""
    layers, _, shaped = slicegan
    read = rg.runtime_layers(shaped, PADDINGS)
    assert [layer.padding for layer in read] == list(PADDINGS)
    assert [layer.relu for layer in read] == [True] * 4 + [False]
    for built, back in zip(layers, read, strict=True):
        np.testing.assert_array_equal(back.weight, built.weight)
        if built.bias is None:
            assert back.bias is None
        else:
            np.testing.assert_array_equal(back.bias, built.bias)


def test_layers_are_not_read_back_from_a_graph_of_another_shape(rg, slicegan):
    _, reference, _ = slicegan
    with pytest.raises(ValueError, match="0 Conv nodes, the generator 5 layers"):
        rg.runtime_layers(reference, PADDINGS)  # ConvTranspose only
    with pytest.raises(ValueError, match="does not fit padding 2"):
        rg.transposed_kernel(np.zeros((24, 2, 3, 3, 3), np.float32), 2)
