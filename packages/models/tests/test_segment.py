"""`fusion segment`: seamless tiled inference, the card's normalisation, the dataset contract."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
import xarray as xr

from fusion.cli import main
from fusion.models import SegmentInputError, segment
from fusion.models._preprocess import exact_percentiles, normaliser
from fusion.models._segment import SliceLabeller, blend_weights, segment_image, tile_origins
from fusion.models.testing import tiny_model_registry
from fusion.registry import check_registry, load_registry
from fusion.schema import make_example, validate, write


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    return tiny_model_registry(tmp_path, generator="tinygen", segmenter="tinyseg")


def onnx_runner(registry, name="tinyseg"):
    import onnxruntime

    entry = load_registry(registry).registry.models[name].versions["0.1.0"]
    path = registry.parent / entry.url
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda window: session.run(None, {"image": window})[0]


# -- tiling arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [16, 100, 255, 256, 257, 1000, 4096])
@pytest.mark.parametrize(("tile", "overlap"), [(64, 16), (256, 64), (512, 64)])
def test_tiles_cover_and_weights_never_vanish(length, tile, overlap):
    origins = tile_origins(length, tile, overlap)
    size = min(tile, length)
    total = np.zeros(length)
    for i, a in enumerate(origins):
        assert a >= 0 and a + size <= length
        total[a : a + size] += blend_weights(size, overlap, i > 0, i < len(origins) - 1)
    assert origins[0] == 0 and origins[-1] + size == length
    assert total.min() > 0.5  # every pixel has weight: none is left to a zero-padded edge
    if len(origins) > 1:
        steps = np.diff(origins)
        assert steps.max() <= tile - overlap  # neighbours overlap by at least `overlap`


def test_neighbour_ramps_sum_to_one_and_skip_the_padded_edge():
    before, after = blend_weights(64, 32, True, False), blend_weights(64, 32, False, True)
    np.testing.assert_allclose(after[32:] + before[:32], 1, atol=1e-6)
    assert np.all(before[:8] == 0) and np.all(after[-8:] == 0)  # overlap // 4 outer pixels


# -- one image --------------------------------------------------------------------------------


def test_pointwise_model_tiles_exactly_like_one_pass():
    rng = np.random.default_rng(0)
    image = rng.random((300, 413), dtype=np.float32)
    weights = np.array([-3.0, 0.5, 4.0], np.float32)[:, None, None]

    def run(window):  # logits of each pixel from its own value only
        return (window[0] * weights - np.array([0, 0.4, 2.5], np.float32)[:, None, None])[None]

    whole = segment_image(image, run, tile=512, overlap=64)
    tiled = segment_image(image, run, tile=64, overlap=16)
    np.testing.assert_array_equal(tiled, whole)
    assert set(np.unique(whole)) == {0, 1, 2}


def test_overlap_past_the_receptive_field_leaves_no_seam(registry):
    """The toy model sees 2 px around each pixel; with the zero-weight margin (overlap // 4 =
    4 px) wider than that, the blend equals one pass over the whole image exactly."""
    run = onnx_runner(registry)
    rng = np.random.default_rng(1)
    image = rng.random((200, 296), dtype=np.float32)
    whole = segment_image(image, run, tile=512, overlap=0)
    tiled = segment_image(image, run, tile=64, overlap=16)
    np.testing.assert_array_equal(tiled, whole)
    # without overlap the tiles' zero-padded edges change labels along the seams
    seamed = segment_image(image, run, tile=64, overlap=0)
    assert np.count_nonzero(seamed != whole) > 0


def test_sizes_that_are_not_multiples_of_the_step_are_padded_and_cropped(registry):
    run = onnx_runner(registry)
    image = np.random.default_rng(2).random((37, 50), dtype=np.float32)
    labels = segment_image(image, run, tile=32, overlap=16)
    assert labels.shape == (37, 50) and labels.dtype == np.uint8


def test_tile_and_overlap_must_be_on_the_model_step():
    with pytest.raises(ValueError, match="multiples of 16"):
        segment_image(np.zeros((32, 32), np.float32), lambda w: w, tile=100, overlap=16)


# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_streamed_percentiles_equal_numpy(dtype):
    rng = np.random.default_rng(3)
    data = (rng.gamma(2.0, 300.0, (5, 40, 60)) % 250).astype(dtype)
    qs = [0, 0.5, 37.2, 99.5, 100]
    np.testing.assert_allclose(exact_percentiles(data, qs), np.percentile(data, qs), rtol=1e-12)


def test_scale_range_maps_the_percentiles_of_the_whole_input_to_0_and_1(registry):
    card = load_registry(registry).registry.models["tinyseg"].versions["0.1.0"].card
    rng = np.random.default_rng(4)
    stack = rng.integers(1000, 5000, (3, 64, 64), dtype=np.uint16)
    stack[2] += 3000  # a brighter slice: percentiles are over the stack, not per slice
    prepare = normaliser(card.preprocessing[0].steps, lambda: iter(stack))
    lo, hi = np.percentile(stack, [0.5, 99.5])
    expected = np.clip((stack[2].astype(np.float32) - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(prepare(stack[2]), expected, atol=1e-6)
    assert prepare(stack[0]).max() < 0.6  # the dim slice stays dim


# -- datasets and the command line ------------------------------------------------------------


@pytest.fixture
def sem_dataset(instruments, tmp_path):
    from fusion.loaders import load

    tree = load("sem", instruments / "sem" / "test_tiff_Zeiss_SEM_1k.tif")
    path = tmp_path / "sem.zarr"
    write(tree, path)
    return path


def test_segment_adds_a_label_channel_beside_the_input_with_provenance(registry, sem_dataset):
    out = segment(sem_dataset, "model:tinyseg", registry=registry, device="cpu", tile=256)
    image = out["image"].to_dataset(inherit=False)
    assert set(image.data_vars) == {"intensity", "phase"}
    phase = image["phase"]
    assert phase.dims == ("z", "y", "x") and phase.shape == image["intensity"].shape
    assert phase.chunks is not None and max(phase.chunks[0]) == 1  # lazy, slice by slice
    assert phase.attrs["origin"] == "inferred" and phase.attrs["flag_meanings"] == "pore NMC CBD"
    for dim in "zyx":  # same voxels, same physical coordinates
        np.testing.assert_array_equal(image[dim].values, out["image"][dim].values)
    provenance = out.attrs["fusion"]["provenance"]
    activity = provenance["activities"][phase.attrs["provenance"]]
    assert activity["type"] == "segment"
    assert activity["generated"] == ["/image/phase"]
    model_id, channel = activity["used"]
    assert channel == "/image/intensity"
    assert provenance["entities"][model_id]["ref"] == "model:tinyseg@0.1.0"
    assert provenance["activities"]["load"]["generated"] == ["/image/intensity"]  # kept
    assert activity["parameters"]["device"] == "cpu"
    assert validate(out, level="data").ok


def test_segment_command_writes_and_reports_in_one_line(registry, sem_dataset, tmp_path, capsys):
    out = tmp_path / "seg.zarr"
    argv = ["segment", "model:tinyseg", str(sem_dataset), "-o", str(out), "--device", "cpu",
            "--tile", "256", "--registry", str(registry)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "/image/phase from /image/intensity" in printed[0]
    assert validate(out, level="data").ok
    tree = xr.open_datatree(out, engine="zarr")
    fractions = tree["image"].to_dataset().fusion.phase_fractions()
    assert abs(sum(fractions.values()) - 1) < 1e-9
    assert f"pore {fractions['pore']:.3f}" in printed[0]


def test_segment_refuses_ambiguous_input_in_one_line_and_writes_nothing(registry, tmp_path, capsys):
    example = tmp_path / "example.zarr"
    write(make_example(), example)
    out = tmp_path / "never.zarr"
    argv = ["segment", "model:tinyseg", str(example), "-o", str(out), "--registry", str(registry)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "name one with --channel" in err[0]
    assert not out.exists()


def test_segment_names_missing_input_and_wrong_model_kind(registry, sem_dataset, tmp_path, capsys):
    argv = ["segment", "model:tinyseg", str(tmp_path / "nope.zarr"), "-o", str(tmp_path / "o"),
            "--registry", str(registry)]  # fmt: skip
    assert main(argv) == 2
    assert "nope.zarr" in capsys.readouterr().err
    with pytest.raises(SegmentInputError, match="generate-3d model, not segment-2d"):
        segment(sem_dataset, "model:tinygen", registry=registry)
    with pytest.raises(SegmentInputError, match="exists already"):
        segment(sem_dataset, "model:tinyseg", registry=registry, name="intensity")


def test_registry_check_wraps_a_segmentation_model(registry):
    report = check_registry(registry)
    assert report.ok, str(report)
    (seg,) = [r for r in report.results if "tinyseg" in r.entry]
    assert "output conforms" in seg.passed  # wrapped by the segment-2d task, validated


def test_a_stack_is_labelled_slice_by_slice_with_progress_over_the_whole_stack(registry):
    from fusion.schema.testing import grey_image_tree

    stack = np.random.default_rng(5).integers(0, 4000, (3, 40, 70), dtype=np.uint16)
    calls = []
    out = segment(grey_image_tree(stack, 0.01), "model:tinyseg", registry=registry,
                  device="cpu", tile=32, overlap=16, progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    phase = out["image"]["phase"]
    assert phase.chunks[0] == (1, 1, 1)
    values = phase.values  # computed now
    assert values.shape == stack.shape
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1] == len(calls)


def test_the_segment_activity_ends_when_the_slices_are_labelled(registry, tmp_path, monkeypatch):
    """Slices are labelled inside ``write``; the loaded input's times are kept as they were."""
    from fusion.schema.testing import grey_image_tree

    label = SliceLabeller.__call__

    def slow_label(self, block):
        time.sleep(0.3)
        return label(self, block)

    monkeypatch.setattr(SliceLabeller, "__call__", slow_label)
    stack = np.random.default_rng(2).integers(0, 4000, (1, 40, 70), dtype=np.uint16)
    source = grey_image_tree(stack, 0.01)
    out = segment(source, "model:tinyseg", registry=registry, device="cpu", tile=32, overlap=16)
    write(out, tmp_path / "seg.zarr")
    stored = xr.open_datatree(tmp_path / "seg.zarr", engine="zarr").attrs["fusion"]
    activities = stored["provenance"]["activities"]
    seg = activities[out["image"]["phase"].attrs["provenance"]]
    started, ended = (dt.datetime.fromisoformat(seg[k]) for k in ("started", "ended"))
    assert ended - started >= dt.timedelta(seconds=0.3)
    assert stored["modified"] == seg["ended"]
    assert stored["created"] == source.attrs["fusion"]["created"]
    for name, activity in source.attrs["fusion"]["provenance"]["activities"].items():
        assert activities[name] == activity
