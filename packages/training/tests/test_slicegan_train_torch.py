"""fusion.training.slicegan's training (models/slicegan-nmc/train.py) on a 3D volume: one slice (isotropic, one critic) or one slice per
axis (anisotropic, one critic per axis), with tiny networks so that a few iterations take seconds.

Needs the training environment (torch, safetensors, tifffile); skipped where torch is not
installed (CI). Run it there with::

    .venv-train/bin/python -m pytest packages/training/tests/test_slicegan_train_torch.py -p no:cacheprovider
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
tifffile = pytest.importorskip("tifffile")

from fusion.models import metrics  # noqa: E402 (after the importorskips)
from fusion.training import gan  # noqa: E402 (after the importorskips)
from fusion.training.slicegan import (  # noqa: E402 (after the importorskips)
    axis_probe,
    batchnorm_gap,
    checkpoints,
    export,
    measures,
    model,
    penalties,
    training_data,
    warm_start,
)
from fusion.training.slicegan.crops import CropSampler  # noqa: E402 (after the importorskips)

TINY = [
    "--image-stride", "1", "--gen-widths", "4", "4", "4", "4", "3",
    "--critic-widths", "4", "4", "4", "4", "1", "--critic-iters", "1", "--real-batch", "2",
    "--fake-volumes", "1", "--gen-volumes", "1", "--slices-per-axis", "2", "--gp-batch", "2",
    "--eval-every", "1000", "--log-every", "1", "--seed", "5",
]  # fmt: skip


@pytest.fixture(scope="module")
def train():
    from fusion.training.slicegan import train

    return train


@pytest.fixture(scope="module")
def volume_file(tmp_path_factory) -> Path:
    """An 80³ volume whose three phases differ along every axis (layers of period 3, 5, 7)."""
    x, y, z = np.indices((80, 80, 80))
    volume = ((x // 3 + y // 5 + z // 7) % 3).astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "volume.tif"
    tifffile.imwrite(path, volume)
    return path


def run(train, volume: Path, out: Path, *extra: str) -> None:
    train.main(["--image", str(volume), "--out-dir", str(out), *TINY, *extra])


def final(train, out: Path) -> tuple[dict, dict]:
    _, tensors, meta = checkpoints.latest_checkpoint(out)
    return tensors, meta


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_real_and_generated_slices_share_one_orientation(train, volume_file, axis):
    """Critic k sees real slices normal to axis k (training_data) laid out like the generated
    slices normal to axis k (model.slices_along), so in-plane directions agree."""
    volume = tifffile.imread(volume_file)
    images = training_data.training_images(volume_file, 3, anisotropic=True, slice_index=17)
    onehot = torch.from_numpy(np.stack([volume == p for p in range(3)]).astype(np.float32))
    generated_view = gan.slices_along(onehot[None], axis, torch.tensor([17]))[0]  # (P, a, b)
    np.testing.assert_array_equal(generated_view.argmax(0).numpy(), images[axis])


@pytest.mark.parametrize(
    "mode, critics",
    [
        (["--slice-axis", "1", "--slice-index", "40"], ["D"]),
        (["--anisotropic"], ["D0", "D1", "D2"]),
        # the isotropy penalty's running mean is restored from the checkpoint
        (["--anisotropy-weight", "1000", "--anisotropy-average", "0.5"], ["D"]),
        (["--transpose-fakes"], ["D"]),
    ],
)
def test_resumed_run_equals_an_uninterrupted_one(train, volume_file, tmp_path, mode, critics):
    run(train, volume_file, tmp_path / "straight", *mode, "--max-iters", "3")
    run(train, volume_file, tmp_path / "resumed", *mode, "--max-iters", "1")
    # resumed without the data settings: they come back from the checkpoint
    run(train, volume_file, tmp_path / "resumed", "--max-iters", "3")

    straight, meta = final(train, tmp_path / "straight")
    resumed, meta_resumed = final(train, tmp_path / "resumed")
    assert meta["iteration"] == meta_resumed["iteration"] == 3
    assert sorted(straight) == sorted(resumed)
    for name, tensor in straight.items():
        assert torch.equal(tensor, resumed[name]), name
    settings = [meta_resumed["train_config"], meta["train_config"]]
    for config in settings:
        config.pop("out_dir")
    assert settings[0] == settings[1]  # the data settings came back from the checkpoint

    stored = {k.split(".")[0] for k in straight if k.startswith("D")}
    assert stored == set(critics)
    assert {k for k in meta if k.startswith("optD")} == {f"opt{c}_param_groups" for c in critics}


def test_resume_refuses_to_switch_between_one_and_three_critics(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--anisotropic", "--max-iters", "1")
    with pytest.raises(SystemExit, match=r"cannot change .*'anisotropic': \(True, False\)"):
        run(train, volume_file, tmp_path, "--no-anisotropic", "--max-iters", "2")


def test_anisotropic_training_logs_each_axis_slice(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--anisotropic", "--max-iters", "1")
    log = (tmp_path / "train.log").read_text()
    assert "3 x D" in log
    for axis in range(3):
        assert f"slice normal to axis {axis} fractions" in log


def test_crops_cover_the_image_as_crop_coverage_says(train):
    """Empirical check of training_data.crop_coverage: the mean of many random crops of a
    one-hot ramp (one "phase" per column band) matches the predicted seen fractions."""
    columns = np.repeat(np.arange(3), [10, 60, 30])[None, :].repeat(70, axis=0)  # (70, 100)
    for padding in (0, 32):
        sampler = CropSampler(columns, 3, 64, np.random.default_rng(0), padding=padding)
        crops = sampler.sample(20000).numpy()  # (n, 3, 64, 64)
        np.testing.assert_allclose(crops.mean(axis=(0, 2, 3)), sampler.seen, atol=0.005)
    # the bare image's edge bands are seen less: band 0 is 10 % of the image
    assert CropSampler(columns, 3, 64, np.random.default_rng(0)).seen[0] < 0.04
    np.testing.assert_allclose(sampler.seen, [0.1, 0.6, 0.3], atol=0.005)


def test_crop_padding_may_change_on_resume_and_the_change_is_kept(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--crop-padding", "0", "--max-iters", "1")
    run(train, volume_file, tmp_path, "--crop-padding", "32", "--max-iters", "2")
    _, meta = final(train, tmp_path)
    assert meta["train_config"]["crop_padding"] == 32
    assert meta["data_changes"] == [{"iteration": 1, "crop_padding": [0, 32]}]
    assert (
        "data settings changed at iteration 1: {'crop_padding': (0, 32)}"
        in (tmp_path / "train.log").read_text()
    )
    run(train, volume_file, tmp_path, "--max-iters", "3")  # resumed without it: 32 stays
    _, meta = final(train, tmp_path)
    assert meta["train_config"]["crop_padding"] == 32 and len(meta["data_changes"]) == 1


def test_checkpoints_from_before_crop_padding_resume_with_none(train, volume_file, tmp_path):
    """A checkpoint without the setting was trained on the bare image: it resumes with 0, not
    with today's default of 32, unless the command line asks for the change."""
    run(train, volume_file, tmp_path, "--crop-padding", "0", "--max-iters", "1")
    path, tensors, meta = checkpoints.latest_checkpoint(tmp_path)
    del meta["train_config"]["crop_padding"], meta["data_changes"]
    import json

    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"meta": json.dumps(meta)})
    run(train, volume_file, tmp_path, "--max-iters", "2")
    _, meta = final(train, tmp_path)
    assert meta["train_config"]["crop_padding"] == 0 and meta["data_changes"] == []


def test_transposed_crops_make_the_image_axes_interchangeable(train):
    """Stripes along the columns: without transposition every crop varies along its columns
    only; with it about half of them vary along their rows."""
    stripes = np.tile(np.arange(100) // 5 % 3, (70, 1))  # (70, 100): phase changes along axis 1

    def varying_along_rows(transpose: bool) -> float:
        sampler = CropSampler(
            stripes, 3, 64, np.random.default_rng(1), padding=32, transpose=transpose
        )
        crops = sampler.sample(4000).numpy()  # (n, P, 64, 64)
        return float(np.mean(np.any(crops[:, :, 1:, :] != crops[:, :, :-1, :], axis=(1, 2, 3))))

    assert varying_along_rows(False) == 0.0
    assert abs(varying_along_rows(True) - 0.5) < 0.04


def test_transposed_generated_slices_show_every_volume_axis_as_rows_and_columns(train):
    """A volume varying along axis 2 only: its slices normal to axes 0 and 1 come out varying
    along their columns only; transposed at random, about half vary along their rows. Each
    slice is the untransposed one or its transpose, and gradients reach the volume."""
    layers = torch.from_numpy(np.indices((16, 16, 16))[2] // 2 % 3)
    volume = torch.nn.functional.one_hot(layers, 3).permute(3, 0, 1, 2)[None].double()
    volume.requires_grad_(True)  # (1, 3, 16, 16, 16)
    for axis in (0, 1):
        plain = gan.random_slices(volume, axis, 8)
        assert not (plain[:, :, 1:] != plain[:, :, :-1]).any()  # constant along rows
        torch.manual_seed(axis)
        many = torch.cat([gan.random_slices(volume, axis, 8, transpose=True) for _ in range(50)])
        rows = (many[:, :, 1:] != many[:, :, :-1]).flatten(1).any(dim=1).double().mean()
        assert abs(rows.item() - 0.5) < 0.1
        for s in many[:16]:
            assert any(torch.equal(s, p) or torch.equal(s, p.transpose(-1, -2)) for p in plain)
    (grad,) = torch.autograd.grad(many.sum(), volume)
    assert grad.abs().sum() > 0


def test_the_anisotropic_form_never_transposes(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--anisotropic", "--max-iters", "1")
    log = (tmp_path / "train.log").read_text()
    assert log.count("transposed crops off") == 3 and "transposed crops on" not in log
    run(train, volume_file, tmp_path / "iso", "--max-iters", "1")
    assert "transposed crops on" in (tmp_path / "iso" / "train.log").read_text()


# --------------------------------------------------------------------------------------------------
# Warm start from a released export (warm_start.py): training goes on when checkpoints are gone


@pytest.fixture
def release(train, volume_file, tmp_path) -> Path:
    """A tiny run of 2 iterations exported as a release would be: <folder>/slicegan-nmc.onnx,
    test-tensors.npz and export.json (export.py's functions)."""
    pytest.importorskip("onnxruntime")

    run(train, volume_file, tmp_path / "first", "--crop-padding", "0", "--max-iters", "2")
    path, _, _ = checkpoints.latest_checkpoint(tmp_path / "first")
    generator, meta, _ = export.load_generator(path)
    folder = tmp_path / "release"
    folder.mkdir()
    onnx_path = folder / "slicegan-nmc.onnx"
    export.export(generator, onnx_path)
    np.savez_compressed(folder / "test-tensors.npz", latent=np.zeros(1))
    export.export_record(
        onnx_path, folder / "test-tensors.npz", path, meta, opset=17, ir_version=9,
        max_abs_difference=0.0,
    )  # fmt: skip
    return onnx_path


def test_a_warm_started_generator_exports_as_its_release(train, release):
    """Read back from the ONNX graph, the generator's standing-statistics export reproduces the
    release: the BatchNorm set from the folded weights is exact, not approximate."""
    import copy

    import onnxruntime as ort

    config = model.SliceGANConfig(gen_widths=(4, 4, 4, 4, 3), critic_widths=(4, 4, 4, 4, 1))
    generator = warm_start.generator_from_export(release, config)
    assert generator.training
    rebuilt = release.with_name("rebuilt.onnx")
    export.export(model.standing_statistics(copy.deepcopy(generator)), rebuilt)
    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (release, rebuilt)]  # fmt: skip
    for grid in [(4, 4, 4), (3, 5, 4)]:
        latent = export.draw_latent(16, grid, 2)
        before, after = (s.run(["probabilities"], {"latent": latent})[0] for s in sessions)
        np.testing.assert_allclose(after, before, atol=1e-5)
        assert np.ptp(before) > 0.1  # a trained generator, not a constant one


def test_a_warm_start_carries_on_the_release_settings_iteration_and_time(
    train, volume_file, release, tmp_path
):
    import json

    record = json.loads(release.with_name("export.json").read_text())
    out = tmp_path / "warm"
    warm = ["--init-from", str(release), "--critic-warmup", "3"]
    run(train, volume_file, out, *warm, "--max-iters", "4")
    _, meta = final(train, out)
    assert record["iteration"] == 2 and meta["iteration"] == 4
    # 3 critic-only rounds, then 2 generator steps, each after its round (critic_iters 1)
    assert meta["critic_iterations"] == 3 + 2
    assert meta["warmup_left"] == 0
    assert meta["warm_start"]["iteration"] == 2 and meta["warm_start"]["critic_warmup"] == 3
    assert meta["warm_start"]["sha256"] == record["files"]["slicegan-nmc.onnx"]["sha256"]
    assert meta["elapsed_s"] >= record["elapsed_s"]
    # the release's data setting (crop padding 0) came back, not today's default of 32
    assert meta["train_config"]["crop_padding"] == 0 and meta["data_changes"] == []
    log = (out / "train.log").read_text()
    assert "warm start from" in log and "critic warm-up: 0 rounds left" in log


def test_the_critic_warm_up_leaves_the_generator_alone_and_resumes(
    train, volume_file, release, tmp_path, monkeypatch
):
    """Stopped (SIGTERM) during the warm-up, the run keeps the rounds still to go and its
    generator has not moved; resumed, it finishes them before the first generator step."""
    import os
    import signal

    config = model.SliceGANConfig(gen_widths=(4, 4, 4, 4, 3), critic_widths=(4, 4, 4, 4, 1))
    generator = warm_start.generator_from_export(release, config)
    start = dict(generator.named_parameters())  # the critic's forward passes move only buffers
    calls = {"n": 0}
    forward = model.Critic.forward

    def stopping_forward(self, x):  # 9 critic calls a round: 3 axes × (real, fake, penalty)
        calls["n"] += 1
        if calls["n"] == 10:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler sets the stop flag
        return forward(self, x)

    monkeypatch.setattr(model.Critic, "forward", stopping_forward)
    out = tmp_path / "warm"
    warm = ["--init-from", str(release), "--critic-warmup", "5"]
    run(train, volume_file, out, *warm, "--max-iters", "9")
    tensors, meta = final(train, out)
    assert (meta["iteration"], meta["critic_iterations"], meta["warmup_left"]) == (2, 2, 3)
    for name, value in start.items():
        assert torch.equal(checkpoints.prefixed(tensors, "G")[name], value.detach()), name
    monkeypatch.setattr(model.Critic, "forward", forward)
    run(train, volume_file, out, "--max-iters", "3")
    tensors, meta = final(train, out)
    assert (meta["iteration"], meta["critic_iterations"], meta["warmup_left"]) == (3, 2 + 3 + 1, 0)
    moved = checkpoints.prefixed(tensors, "G")["convs.0.weight"]
    assert not torch.equal(moved, start["convs.0.weight"].detach())


def test_a_warm_start_refuses_a_release_without_its_record_or_of_another_shape(
    train, volume_file, release, tmp_path
):
    release.with_name("export.json").rename(release.with_name("kept.json"))
    with pytest.raises(FileNotFoundError, match=r"export\.json.*warm start needs"):
        run(train, volume_file, tmp_path / "a", "--init-from", str(release))
    release.with_name("kept.json").rename(release.with_name("export.json"))
    with pytest.raises(SystemExit, match=r"cannot change .*'gen_widths'"):
        train.main(["--image", str(volume_file), "--out-dir", str(tmp_path / "b"),
                    "--init-from", str(release), "--gen-widths", "8", "4", "4", "4", "3"])  # fmt: skip
    broken = release.with_name("broken.onnx")
    broken.write_bytes(b"not onnx")
    release.with_name("export.json").replace(broken.with_name("export.json"))
    with pytest.raises(ValueError, match=r"broken\.onnx: not a readable ONNX model"):
        run(train, volume_file, tmp_path / "c", "--init-from", str(broken))


def test_a_frozen_batchnorm_run_trains_the_function_it_exports(
    train, volume_file, release, tmp_path
):
    """Warm-started with --frozen-batchnorm, the generator starts as the release's exported
    function, its BatchNorm statistics never move, and its training-mode output is its
    eval-mode (exported) output: no batch statistics anywhere."""

    out = tmp_path / "frozen"
    warm = ["--init-from", str(release), "--critic-warmup", "1", "--frozen-batchnorm"]
    run(train, volume_file, out, *warm, "--max-iters", "4")
    tensors, meta = final(train, out)
    assert meta["train_config"]["frozen_batchnorm"] and meta["warm_start"]["frozen_batchnorm"]
    assert meta["iteration"] == 4
    assert "BatchNorm frozen" in (out / "train.log").read_text()

    config = model.SliceGANConfig(gen_widths=(4, 4, 4, 4, 3), critic_widths=(4, 4, 4, 4, 1))
    start = warm_start.generator_from_export(release, config).state_dict()
    for prefix in ("G", "E"):  # statistics as warm-started, weights trained
        stored = checkpoints.prefixed(tensors, prefix)
        for name in ("norms.0.running_mean", "norms.3.running_var"):
            assert torch.equal(stored[name], start[name]), (prefix, name)
        assert not torch.equal(stored["convs.1.weight"], start["convs.1.weight"])

    path, _, _ = checkpoints.latest_checkpoint(out)
    generator, meta, _ = export.load_generator(path)
    assert "frozen in training" in meta["batchnorm_statistics"]
    latent = torch.from_numpy(export.draw_latent(16, (4, 4, 4), 3)).repeat(2, 1, 1, 1, 1)
    latent[1] *= 0.5  # two different volumes in one batch
    with torch.no_grad():
        exported = generator.eval()(latent)
        trained = generator.train()(latent)  # stays frozen in training mode
    torch.testing.assert_close(trained, exported, rtol=0, atol=0)
    with pytest.raises(ValueError, match="frozen"):
        model.standing_statistics(generator)


def test_a_warm_start_may_lower_the_learning_rate_and_records_its_chain(
    train, volume_file, release, tmp_path
):
    """A release may be fine-tuned at a lower lr: the optimisers run at it, the checkpoint
    records the release's rate beside it, and the release's own warm start is kept as
    ``previous`` so that a card can tell the whole history. A resume cannot change it."""
    out = tmp_path / "fine"
    run(train, volume_file, out, "--init-from", str(release), "--critic-warmup", "1",
        "--lr", "2.5e-5", "--max-iters", "2")  # fmt: skip
    _, meta = final(train, out)
    start = meta["warm_start"]
    assert meta["train_config"]["lr"] == start["lr"] == 2.5e-5
    assert start["lr_before"] == 1e-4 and start["previous"] is None
    assert all(g["lr"] == 2.5e-5 for g in meta["optG_param_groups"])
    assert "Adam lr 2.5e-05 (the release trained at 0.0001)" in (out / "train.log").read_text()
    with pytest.raises(SystemExit, match=r"cannot change .*'lr': \(2\.5e-05, 0\.0001\)"):
        run(train, volume_file, out, "--lr", "1e-4", "--max-iters", "3")


def test_batchnorm_is_not_frozen_or_thawed_on_resume(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--max-iters", "1")
    with pytest.raises(SystemExit, match=r"cannot change .*'frozen_batchnorm': \(False, True\)"):
        run(train, volume_file, tmp_path, "--frozen-batchnorm", "--max-iters", "2")


def test_the_batchnorm_gap_is_measured_and_is_none_when_frozen(train, release):
    """batchnorm_gap.py runs both modes on the same latents: a generator with batch statistics
    differs between them; a frozen one gives the same volumes in both."""

    config = model.SliceGANConfig(gen_widths=(4, 4, 4, 4, 3), critic_widths=(4, 4, 4, 4, 1))
    generator = warm_start.generator_from_export(release, config)
    found = batchnorm_gap.batchnorm_gap(generator, batches=2)
    assert found["volumes"] == 4
    assert set(found["training"]) == {
        "nmc_mean", "nmc_sd_volumes", "nmc_sd_slices", "interface_density"
    }  # fmt: skip
    assert found["training"] != found["exported"]
    frozen = batchnorm_gap.batchnorm_gap(model.freeze_batchnorm(generator), batches=2)
    assert frozen["training"] == frozen["exported"] and frozen["nmc_paired_difference"] == 0.0


def test_interface_density_counts_boundaries_per_step(
    train,
):

    labels = np.zeros((4, 4, 4), np.uint8)
    labels[:, :, 2:] = 1  # one boundary along the last axis, after 3 steps
    assert batchnorm_gap.interface_density(labels, 1) == pytest.approx((0 + 0 + 1 / 3) / 3)


def test_each_eval_logs_the_sample_interfaces_against_the_critics_images(
    train, volume_file, tmp_path
):
    """The eval volume's per-axis interface errors, recorded in the checkpoint and the log, are
    those of the sample written beside it against the expectation from the training slices."""
    run(train, volume_file, tmp_path, "--anisotropic", "--max-iters", "2", "--eval-every", "2",
        "--eval-latent", "4")  # fmt: skip
    recorded = np.array(final(train, tmp_path)[1]["last_eval"]["surface_rel_error"])
    sample = tifffile.imread(tmp_path / "sample_latest.tif")
    images = training_data.training_images(volume_file, 3, anisotropic=True)
    expected = training_data.expected_interface_density(images, 3, transposed=False)
    assert recorded.shape == (3, 3)
    np.testing.assert_allclose(recorded, measures.interface_errors(sample, expected), atol=5e-5)
    worst = np.abs(recorded).max(axis=0)
    line = next(x for x in (tmp_path / "train.log").read_text().splitlines() if "eval iter 2" in x)
    assert f"worst axis {measures.fmt(worst)}" in line


def test_interface_errors_are_zero_for_a_volume_like_the_images(train):
    x, y, z = np.indices((36, 30, 24))  # whole periods of the three phases along every axis
    volume = ((x // 3 + y // 5 + z // 4) % 3).astype(np.uint8)
    images = [volume[18], volume[:, 15], volume[:, :, 12]]
    expected = training_data.expected_interface_density(images, 3, transposed=False)
    np.testing.assert_allclose(measures.interface_errors(volume, expected), 0.0, atol=1e-12)
    doubled = np.repeat(volume, 2, axis=0)  # layers twice as thick along axis 0: half the density
    errors = measures.interface_errors(doubled, expected)
    np.testing.assert_allclose(errors[1:], 0.0, atol=0.05)
    assert (errors[0] < -0.4).all()


def test_axis_two_point_is_the_metrics_s2_of_one_hot_labels(train):
    """On one-hot labels the differentiable S2 is the evaluation's (fusion.models.metrics)."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, (20, 18, 16)).astype(np.uint8)
    labels[:, :9] = 1  # a large block so the curves are not flat
    onehot = torch.from_numpy(np.stack([labels == p for p in range(3)]).astype(np.float64))
    soft = penalties.axis_two_point(onehot[None], 7).numpy()  # (3, P, 7)
    s2 = metrics.two_point_correlation
    for axis in range(3):
        for p in range(3):
            np.testing.assert_allclose(soft[axis, p], s2(labels, p, axis, 8)[1:], atol=1e-12)


def test_the_anisotropy_penalty_is_zero_for_alike_axes_and_pulls_them_together(train):
    """Zero for a volume that is the same along every axis (symmetric under axis permutation);
    positive for layers along one axis, and one gradient step makes that volume less anisotropic."""
    x, y, z = np.indices((12, 12, 12))
    alike = torch.from_numpy(((x % 4 < 2) ^ (y % 4 < 2) ^ (z % 4 < 2)).astype(np.float64))
    alike = torch.stack([alike, 1 - alike])[None]  # (1, 2, 12, 12, 12): two phases
    assert penalties.two_point_anisotropy(alike, 5).item() == pytest.approx(0.0, abs=1e-15)
    layers = torch.from_numpy((x % 6 < 3).astype(np.float64))  # varies along axis 0 only
    layers = torch.stack([layers, 1 - layers])[None].requires_grad_(True)
    penalty = penalties.two_point_anisotropy(layers, 5)
    assert penalty.item() > 1e-3
    (grad,) = torch.autograd.grad(penalty, layers)
    stepped = (layers - 0.05 * grad / grad.abs().max()).detach()  # a small step
    assert penalties.two_point_anisotropy(stepped, 5).item() < penalty.item()


def test_label_anisotropy_names_the_axis_that_differs(train):
    x, y, z = np.indices((24, 24, 24))
    volume = ((x // 3 + y // 3 + z // 3) % 3).astype(np.uint8)
    np.testing.assert_allclose(measures.label_anisotropy(volume, 3, 8), 0.0, atol=1e-12)
    stretched = ((x // 3 + y // 6 + z // 3) % 3).astype(np.uint8)  # longer along axis 1
    rms = measures.label_anisotropy(stretched, 3, 8)
    assert rms.shape == (3, 3) and (rms.argmax(axis=0) == 1).all() and rms.min() > 0.01


def test_the_anisotropy_penalty_trains_logs_and_may_be_switched_on_at_resume(
    train, volume_file, tmp_path
):
    run(train, volume_file, tmp_path, "--max-iters", "1")
    run(train, volume_file, tmp_path, "--max-iters", "2", "--anisotropy-weight", "100",
        "--anisotropy-shifts", "8", "--eval-every", "2", "--eval-latent", "4")  # fmt: skip
    _, meta = final(train, tmp_path)
    assert meta["train_config"]["anisotropy_weight"] == 100
    assert meta["data_changes"] == [
        {"iteration": 1, "anisotropy_weight": [0.0, 100.0], "anisotropy_shifts": [31, 8]}
    ]
    log = (tmp_path / "train.log").read_text().splitlines()
    assert "S2 penalty" in next(x for x in log if x.split()[2:4] == ["iter", "2"])
    sample = tifffile.imread(tmp_path / "sample_latest.tif")
    np.testing.assert_allclose(
        meta["last_eval"]["s2_anisotropy_rms"], measures.label_anisotropy(sample, 3, 8), atol=5e-5
    )


def test_the_anisotropic_form_refuses_the_isotropy_penalty(train, volume_file, tmp_path):
    with pytest.raises(SystemExit, match="isotropic form"):
        run(train, volume_file, tmp_path, "--anisotropic", "--anisotropy-weight", "1")


def test_the_running_mean_penalty_has_the_gradient_of_the_systematic_offsets(train):
    """Fed one batch over and over, the running mean grows from zero towards that batch's
    offsets, (1 − decay^k) of them after k steps, and the penalty's gradient is that share of
    the batch's own squared offsets' gradient; it never changes the running mean it used for
    this step."""
    x = np.indices((12, 12, 12))[0]
    layers = torch.from_numpy((x % 6 < 3).astype(np.float64))
    layers = torch.stack([layers, 1 - layers])[None].requires_grad_(True)
    penalty = penalties.AnisotropyPenalty(3.0, 5, decay=0.9)
    expected = penalties.two_point_anisotropy(layers, 5)
    (expected_grad,) = torch.autograd.grad(3.0 * expected, layers)
    for k in range(3):
        loss, logged = penalty(layers)
        (grad,) = torch.autograd.grad(loss, layers)
        share = 1 - 0.9**k  # of the offsets in the running mean this step used
        torch.testing.assert_close(grad, share * expected_grad)
        assert logged == pytest.approx(share**2 * expected.item())
    assert penalty.average.shape == (3, 2, 5) and not penalty.average.requires_grad


def test_the_axis_probe_finds_the_stretched_axis_and_reads_any_checkpoint(
    train, volume_file, tmp_path
):
    probe = axis_probe
    x, y, z = np.indices((48, 48, 48))
    stretched = ((x // 3 + y // 6 + z // 3) % 3).astype(np.uint8)  # longer along axis 1
    offsets = training_data.label_axis_offsets(stretched, 3, 31)  # (3, P, 31)
    assert offsets.shape == (3, 3, 31)
    np.testing.assert_allclose(offsets.sum(axis=0), 0.0, atol=1e-12)
    rms = np.sqrt((offsets**2).mean(axis=-1))
    assert (rms.argmax(axis=0) == 1).all() and (offsets[1, :, 3] > 0).all()
    np.testing.assert_allclose(measures.label_anisotropy(stretched, 3, 31), rms, atol=1e-15)
    # a checkpoint trained without frozen BatchNorm is read as export.py exports it
    run(train, volume_file, tmp_path, "--max-iters", "1")
    path, _, _ = checkpoints.latest_checkpoint(tmp_path)
    interfaces = np.full((3, 3), 0.1)
    curves, surface, fractions = probe.probe(path, 2, latent=4, seed=0, interfaces=interfaces)
    assert fractions.shape == (3,) and fractions.sum() == pytest.approx(1.0)
    assert curves.shape == (2, 3, 3, 31)  # on 64³ volumes
    assert ((curves >= 0) & (curves <= 1)).all()
    assert surface.shape == (3, 3) and (surface >= -1).all()  # relative to 0.1 per step


def test_the_penalty_against_the_image_is_zero_for_its_s2_and_pulls_towards_it(train):
    """Held to a reference, the penalty is zero for a batch with exactly those curves, positive
    for another, and a gradient step brings the batch's curves closer to the reference; a
    reference with another number of shifts is refused."""
    x, y, _ = np.indices((12, 12, 12))
    layers = torch.from_numpy((x % 6 < 3).astype(np.float64))
    layers = torch.stack([layers, 1 - layers])[None]  # (1, 2, 12, 12, 12)
    reference = penalties.axis_two_point(layers, 5)  # layers along axis 0, uniform along 1 and 2
    penalty = penalties.AnisotropyPenalty(1.0, 5, decay=0.0, reference=reference)
    assert penalty(layers)[1] == pytest.approx(0.0, abs=1e-15)
    assert "image" in str(penalty)
    other = torch.from_numpy((y % 6 < 3).astype(np.float64))  # the same layers along axis 1
    other = torch.stack([other, 1 - other])[None].requires_grad_(True)
    loss, logged = penalty(other)
    assert logged > 1e-3 and penalties.two_point_anisotropy(other, 5).item() == pytest.approx(
        penalties.two_point_anisotropy(layers, 5).item()
    )  # as anisotropic as the reference: only the reference tells them apart
    (grad,) = torch.autograd.grad(loss, other)
    stepped = (other - 0.05 * grad / grad.abs().max()).detach()
    assert penalty(stepped)[1] < logged
    with pytest.raises(ValueError, match="7 shifts"):
        penalties.AnisotropyPenalty(
            1.0, 5, decay=0.0, reference=penalties.axis_two_point(layers, 7)
        )


def test_the_penalty_against_the_image_trains_and_the_eval_logs_the_s2_error(
    train, volume_file, tmp_path
):
    run(train, volume_file, tmp_path, "--max-iters", "2", "--slice-axis", "2",
        "--anisotropy-weight", "100", "--anisotropy-shifts", "8", "--anisotropy-average", "0.9",
        "--s2-reference", "image", "--eval-every", "2", "--eval-latent", "4")  # fmt: skip
    _, meta = final(train, tmp_path)
    assert meta["train_config"]["s2_reference"] == "image"
    log = (tmp_path / "train.log").read_text()
    assert "against the image's S2" in log and "S2 against the image, RMS per axis" in log
    images = training_data.training_images(volume_file, 3, stride=1, slice_axis=2)
    expected = training_data.expected_two_point(images, 3, 8, transposed=True)
    sample = tifffile.imread(tmp_path / "sample_latest.tif")
    error = np.sqrt(((training_data.label_two_point(sample, 3, 8) - expected) ** 2).mean(axis=-1))
    np.testing.assert_allclose(meta["last_eval"]["s2_image_rms"], error, atol=5e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--s2-reference", "slices"], "must be one of axes, image"),
        (["--s2-reference", "image", "--no-transpose-crops"], "only with --transpose-crops"),
    ],
)
def test_a_penalty_reference_the_critic_does_not_see_is_refused(
    train, volume_file, tmp_path, extra, message
):
    with pytest.raises(SystemExit, match=message):
        run(train, volume_file, tmp_path, "--slice-axis", "2", *extra)


def test_axis_interface_density_reads_the_labels_and_passes_the_probabilities_gradient(train):
    """Its value is the metrics' interface density of the argmax labels, whatever the
    probabilities' sharpness; its gradient reaches the probabilities as the labels' would."""
    rng = np.random.default_rng(4)
    logits = torch.from_numpy(rng.standard_normal((2, 3, 10, 9, 8))).requires_grad_(True)
    probabilities = torch.softmax(logits, dim=1)
    density = penalties.axis_interface_density(probabilities)  # (3, P)
    labels = probabilities.argmax(1).numpy()
    metric = metrics.interface_density
    for axis in range(3):
        for p in range(3):
            expected = np.mean([metric(labels[b], p, axis) for b in range(2)])
            assert density[axis, p].item() == pytest.approx(expected, abs=1e-12)
    (grad,) = torch.autograd.grad(density[1, 0], logits, retain_graph=True)
    onehot = torch.from_numpy(np.stack([labels == p for p in range(3)], axis=1).astype(np.float64))
    onehot.requires_grad_(True)
    a, b = onehot[:, :, :, :-1], onehot[:, :, :, 1:]  # pairs along axis 1
    (at_labels,) = torch.autograd.grad((a + b - 2 * a * b).mean(dim=(0, 2, 3, 4))[0], onehot)
    (expected_grad,) = torch.autograd.grad(probabilities, logits, grad_outputs=at_labels)
    torch.testing.assert_close(grad, expected_grad)
    assert grad.abs().max() > 0


def test_the_interface_penalty_is_the_relative_error_against_the_images(train):
    x = np.indices((12, 12, 12))[0]
    layers = torch.from_numpy((x % 6 < 3).astype(np.float64))
    layers = torch.stack([layers, 1 - layers])[None]  # boundaries along axis 0 only
    density = penalties.axis_interface_density(layers)
    np.testing.assert_allclose(density[0].numpy(), 3 / 11)  # 3 boundaries over 11 pairs
    np.testing.assert_allclose(density[1:].numpy(), 0.0)
    reference = torch.full((3, 2), 3 / 11 / 2)  # the batch has twice the interfaces along 0
    penalty = penalties.InterfacePenalty(1.0, decay=0.0, reference=reference)
    np.testing.assert_allclose(penalty.offsets(layers).numpy(), [[1, 1], [-1, -1], [-1, -1]])
    assert penalty(layers)[1] == pytest.approx(1.0)
    assert "relative to the image's" in str(penalty) and penalty.offsets_length == 2


def test_the_interface_penalty_trains_keeps_its_running_mean_and_may_be_switched_on_at_resume(
    train, volume_file, tmp_path
):
    run(train, volume_file, tmp_path, "--max-iters", "1")
    run(train, volume_file, tmp_path, "--max-iters", "2", "--interface-weight", "10",
        "--anisotropy-average", "0.9")  # fmt: skip
    tensors, meta = final(train, tmp_path)
    assert meta["data_changes"] == [
        {"iteration": 1, "anisotropy_average": [0.0, 0.9], "interface_weight": [0.0, 10.0]}
    ]
    assert tensors["interface.average"].shape == (3, 3) and "anisotropy.average" not in tensors
    log = (tmp_path / "train.log").read_text().splitlines()
    line = next(x for x in log if x.split()[2:4] == ["iter", "2"])
    assert "interface penalty" in line and "S2 penalty" not in line


def test_the_fraction_penalty_reads_the_labels_fractions_against_the_images(train):
    rng = np.random.default_rng(6)
    logits = torch.from_numpy(rng.standard_normal((2, 3, 8, 8, 8))).requires_grad_(True)
    probabilities = torch.softmax(logits, dim=1)
    labels = probabilities.argmax(1).numpy()
    reference = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    penalty = penalties.FractionPenalty(1.0, decay=0.0, reference=reference)
    offsets = penalty.offsets(probabilities)
    expected = np.bincount(labels.ravel(), minlength=3) / labels.size - reference.numpy()
    np.testing.assert_allclose(offsets.detach().numpy(), expected, atol=1e-12)
    (grad,) = torch.autograd.grad(offsets[1], logits)  # straight through to the probabilities
    assert grad.abs().max() > 0
    assert penalty(probabilities)[1] == pytest.approx((expected**2).mean())
    assert penalty.offsets_length == 3 and "against the image's" in str(penalty)


def test_the_fraction_penalty_trains_and_keeps_its_running_mean(train, volume_file, tmp_path):
    run(train, volume_file, tmp_path, "--max-iters", "2", "--fraction-weight", "10",
        "--anisotropy-average", "0.9")  # fmt: skip
    tensors, _ = final(train, tmp_path)
    assert tensors["fraction.average"].shape == (3,)
    log = (tmp_path / "train.log").read_text().splitlines()
    assert "fraction penalty" in next(x for x in log if x.split()[2:4] == ["iter", "2"])
