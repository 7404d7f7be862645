"""fusion.training.slicegan_xct.register (models/slicegan-nmc-xct/register.py): the ground-truth models' cards are the flagship's with
the XCT training data, and their metrics carry the per-axis comparison with the real volume."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def reg():
    from fusion.training.slicegan_xct import register

    return register


@pytest.fixture(scope="module")
def flagship_reg():
    from fusion.training.slicegan import register

    return register


@pytest.mark.parametrize(
    "variant, name", [("iso", "slicegan-nmc-xct"), ("aniso", "slicegan-nmc-xct-aniso")]
)
def test_card_is_the_flagships_with_the_xct_data(reg, variant, name):
    import yaml

    flagship = yaml.safe_load(reg.FLAGSHIP_CARD.read_text(encoding="utf-8"))
    found, card = reg.card_for(variant)
    assert found == name
    assert card["inputs"] == flagship["inputs"] and card["outputs"] == flagship["outputs"]
    assert card["channels"][0]["modality"] == "XCT"
    assert card["channels"][0]["flag_meanings"] == "pore NMC CBD"
    assert card["training_data"][0]["sha256"].startswith("4760a4049ca4")  # the README's digest
    assert "variants" not in card
    assert ("one 2D critic per axis" in card["description"]) == (variant == "aniso")


def measured(tau, tau_real=(2.245, 2.407, 2.853)) -> dict:
    phase = {
        "fraction_abs": 0.004, "fraction_real": 0.3436, "surface_rel_per_axis": [0.1, 0.2, 0.05],
        "s2_rms_per_axis": [0.01, 0.02, 0.03],
    }  # fmt: skip
    order = sorted(range(3), key=lambda a: tau[a])
    return {
        "seeds": [0, 1], "crop": [128, 128, 128],
        "targets": {"fraction_abs": 0.01, "surface_rel": 0.1, "s2_rms": 0.02, "tau_rel": 0.05},
        "phases": {"pore": phase},
        "tau_pore": {
            "per_axis": list(tau), "std_per_axis": [0.1] * 3, "real_per_axis": list(tau_real),
            "rel_error_per_axis": [abs(g / r - 1) for g, r in zip(tau, tau_real, strict=True)],
            "axis_order": order, "axis_order_real": [0, 1, 2],
        },
    }  # fmt: skip


def test_metrics_give_worst_axes_and_tau_per_axis(reg):
    values = {m["name"]: m["value"] for m in reg.metrics(measured([2.2, 2.5, 3.0]))}
    assert values["surface-rel-error-pore"] == 0.2  # the worst of the three axes
    assert values["s2-rms-pore"] == 0.03
    assert values["tau-pore-rel-error-axis-1"] == pytest.approx(abs(2.5 / 2.407 - 1), abs=1e-4)
    assert values["tau-pore-axis-order"] == 1.0


def test_axes_out_of_the_real_order_score_zero(reg):
    values = {m["name"]: m["value"] for m in reg.metrics(measured([2.4, 3.2, 2.7]))}
    assert values["tau-pore-axis-order"] == 0.0


def test_training_note_names_data_changes_and_a_warm_start():
    from fusion.registry.authoring import gan_training_note

    record = {
        "iteration": 6000, "elapsed_s": 7200 * 4, "weights": "moving average",
        "train_config": {"critic_iters": 5, "lr": 1e-4, "gp_lambda": 10.0, "seed": 1337},
        "data_changes": [{"iteration": 3155, "crop_padding": [0, 32]}],
        "warm_start": {"iteration": 4518, "from": "models/slicegan-nmc/0.2.0/slicegan-nmc.onnx",
                       "sha256": "abcdef0123456789", "critic_warmup": 200},
    }  # fmt: skip
    note = gan_training_note(record, "train.py")
    assert "Trained 6,000 generator steps" in note and "8.0 h on one CPU thread" in note
    assert "crop padding 0 → 32 at 3,155" in note
    assert "lost at 4,518" in note and "0.2.0/slicegan-nmc.onnx" in note
    assert "abcdef012345" in note and "alone for 200 rounds" in note
    assert "frozen" not in note
    record["warm_start"]["frozen_batchnorm"] = True
    record["train_config"]["threads"] = 2
    assert "8.0 h on up to 2 CPU threads" in gan_training_note(record, "train.py")
    assert "BatchNorm was frozen" in gan_training_note(record, "train.py")
    del record["warm_start"]
    assert "lost" not in gan_training_note(record, "train.py")


def test_training_note_tells_chained_warm_starts_oldest_first_and_a_lowered_lr():
    from fusion.registry.authoring import gan_training_note

    first = {
        "iteration": 4518,
        "from": "models/slicegan-nmc/0.2.0/slicegan-nmc.onnx",
        "sha256": "aaaaaaaaaaaaaaaa",
        "critic_warmup": 200,
        "frozen_batchnorm": True,
    }
    record = {
        "iteration": 7000, "elapsed_s": 3600, "weights": "moving average",
        "train_config": {"critic_iters": 5, "lr": 2.5e-5, "gp_lambda": 10.0, "seed": 1337},
        "warm_start": {"iteration": 5736, "from": "models/slicegan-nmc/0.3.0/slicegan-nmc.onnx",
                       "sha256": "bbbbbbbbbbbbbbbb", "critic_warmup": 200, "frozen_batchnorm": True,
                       "lr_before": 1e-4, "lr": 2.5e-5, "previous": first},
    }  # fmt: skip
    note = gan_training_note(record, "train.py")
    assert "Adam lr 0.0001," in note  # the rate the run began with
    assert note.index("lost at 4,518") < note.index("lost at 5,736")
    assert note.count("BatchNorm was frozen") == 2
    assert note.endswith("Adam's lr went from 0.0001 to 2.5e-05 there.")
    record["warm_start"]["lr"] = 1e-4  # unchanged: nothing to say
    assert "lr went" not in gan_training_note(record, "train.py")


def test_seeds_read_as_runs_and_the_fraction_carries_its_standard_error():
    from fusion.registry.authoring import gan_phase_metrics, seed_ranges

    assert seed_ranges(list(range(128))) == "0–127"
    assert seed_ranges([0, 1, 2, 3, 7, 9, 10]) == "0–3, 7, 9–10"
    assert seed_ranges([5]) == "5"
    phase = {
        "fraction_abs": 0.004, "fraction_image": 0.5827, "surface_rel_per_axis": [0.05, 0.02, 0.09],
        "s2_rms_per_axis": [0.007, 0.019, 0.007], "fraction_seed_sd": 0.032,
        "fraction_per_seed": [0.55, 0.6] * 32,
    }  # fmt: skip
    targets = {"fraction_abs": 0.01, "surface_rel": 0.1, "s2_rms": 0.02}
    (fraction, *_) = gan_phase_metrics({"NMC": phase}, targets, "64 volumes", "image's", "z/y/x")
    assert "sd between volumes 0.032, standard error of the mean 0.0040" in fraction["description"]
    del phase["fraction_seed_sd"]  # an evaluation of one volume has no spread to report
    (fraction, *_) = gan_phase_metrics({"NMC": phase}, targets, "1 volume", "image's", "z/y/x")
    assert "standard error" not in fraction["description"]


def test_flagship_note_says_whether_the_targets_are_met(flagship_reg):
    module = flagship_reg
    record = {"iteration": 100, "elapsed_s": 3600, "weights": "moving average",
              "train_config": {"critic_iters": 5, "lr": 1e-4, "gp_lambda": 10.0, "seed": 1}}  # fmt: skip
    at = {
        256: {"seeds": list(range(128)), "size": 256},
        512: {"seeds": list(range(32)), "size": 512},
    }
    both = [{**at[256], "targets_met": True}, {**at[512], "targets_met": True}]
    note = module.training_note(record, both)
    assert "All statistics targets are met over 128 volumes of 256³ and 32 volumes of 512³" in note
    split = [{**at[256], "targets_met": True}, {**at[512], "targets_met": False}]
    note = module.training_note(record, split)
    assert "met over 128 volumes of 256³ but not over 32 volumes of 512³" in note
    missed = module.training_note(record, [{**at[256], "targets_met": False}])
    assert "not all met yet" in missed and "are met over" not in missed


def test_flagship_card_reads_every_size_measured(flagship_reg, tmp_path):
    module = flagship_reg
    phase = {"fraction_abs": 0.004, "fraction_image": 0.58, "surface_rel_per_axis": [0.1] * 3,
             "s2_rms_per_axis": [0.01] * 3}  # fmt: skip
    targets = {"fraction_abs": 0.01, "surface_rel": 0.1, "s2_rms": 0.02}
    for name, size in [
        ("metrics.json", 256),
        ("metrics-1024.json", 1024),
        ("metrics-512.json", 512),
    ]:
        record = {"size": size, "seeds": [0, 1], "targets": targets, "phases": {"NMC": phase}}
        (tmp_path / name).write_text(json.dumps(record))
    found = module.evaluations(tmp_path)
    assert [m["size"] for m in found.values()] == [256, 512, 1024]
    assert list(found) == ["", "-512", "-1024"]
    names = [m["name"] for m in module.metrics(found["-512"], "-512")]
    assert names == ["fraction-abs-error-NMC-512", "surface-rel-error-NMC-512", "s2-rms-NMC-512"]


def test_training_note_says_which_statistics_the_generator_was_penalised_towards():
    from fusion.registry.authoring import gan_training_note

    record = {"iteration": 10, "elapsed_s": 3600, "train_config": {
        "critic_iters": 5, "lr": 1e-4, "gp_lambda": 10.0, "seed": 1, "threads": 2,
        "anisotropy_weight": 5e4, "s2_reference": "image", "interface_weight": 1e3,
        "fraction_weight": 0.0}}  # fmt: skip
    note = gan_training_note(record, "train.py")
    assert "each axis's S2 against the image's; each axis's interface density" in note
    assert "fractions" not in note and "partly trained on" in note
    record["train_config"] |= {"s2_reference": "axes", "interface_weight": 0.0}
    assert "(isotropy)" in gan_training_note(record, "train.py")
    record["train_config"]["anisotropy_weight"] = 0.0
    assert "penalties" not in gan_training_note(record, "train.py")
