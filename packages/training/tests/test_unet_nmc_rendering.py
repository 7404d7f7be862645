"""The SEM renderer and the train / held-out split of models/unet-nmc (project env, no torch)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from fusion.training._paths import MODELS


@pytest.fixture(scope="module")
def render():
    from fusion.training.unet import render

    return render


@pytest.fixture(scope="module")
def sem_train(render, micrographs):
    return render.region_labels(micrographs, render.SPLIT["train"][0])[:256, :256]


def test_rendering_is_seeded_float32_in_unit_range(render, sem_train):
    a = render.render_sem(sem_train, seed=7)
    b = render.render_sem(sem_train, seed=7)
    c = render.render_sem(sem_train, seed=8)
    assert a.dtype == np.float32 and a.shape == sem_train.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0
    params = render.sample_params(np.random.default_rng(3))
    d = render.render_sem(sem_train, seed=7, params=params)
    assert np.array_equal(d, render.render_sem(sem_train, seed=7, params=params))
    assert d.dtype == np.float32 and d.min() >= 0.0 and d.max() <= 1.0


def test_phase_means_ordered_pore_cbd_nmc(render, sem_train):
    rng = np.random.default_rng(0)
    for params in [render.RenderParams(), *(render.sample_params(rng) for _ in range(3))]:
        image = render.render_sem(sem_train, seed=1, params=params)
        means = [image[sem_train == k].mean() for k in (render.PORE, render.CBD, render.NMC)]
        assert means[0] < means[1] < means[2], (params, means)


def test_curtaining_adds_vertical_structure(render, sem_train):
    base = render.RenderParams()
    flat = dataclasses.replace(base, curtain_amp=0.0)
    strong = dataclasses.replace(base, curtain_amp=0.12, curtain_density=0.1)
    # same seed, so only the curtain step differs: column-to-column variation of the column means
    a = render.render_sem(sem_train, seed=3, params=flat).mean(axis=0)
    b = render.render_sem(sem_train, seed=3, params=strong).mean(axis=0)
    assert np.var(np.diff(b)) > 1.5 * np.var(np.diff(a))
    assert np.var(b - a) > 0


def test_split_shares_no_pixel(render, micrographs):
    train, heldout = render.SPLIT["train"], render.SPLIT["heldout"]
    # the SEM image: training and held-out column ranges are disjoint, with a guard band
    sem_train = [r.cols for r in train if r.file == render.SEM]
    sem_held = [r.cols for r in heldout if r.file == render.SEM]
    assert sem_train and sem_held
    for t in sem_train:
        for h in sem_held:
            assert t[1] + render.SEM_GAP <= h[0] or h[1] + render.SEM_GAP <= t[0]
    # the 3D volumes are never used for training
    assert not {r.file for r in train} & {render.CUBE, render.VOL30}
    # the training PNG is slice 39 of the cube's source volume; held-out slices are >= 40 away
    png = render.region_labels(micrographs, next(r for r in train if r.file == render.XCT_PNG))
    cube = render.load_labels(micrographs / render.CUBE)
    y, x = render.PNG_CUBE_OFFSET
    assert np.array_equal(png[y : y + 128, x : x + 128], cube[render.PNG_CUBE_SLICE])
    for r in heldout:
        if r.file == render.CUBE:
            assert abs(r.index - render.PNG_CUBE_SLICE) >= 40
    # and no 32x32 window of any held-out slice appears anywhere in the training PNG
    k = 32
    windows = sliding_window_view(png, (k, k)).reshape(-1, k * k)
    known = set(map(bytes, windows[windows.std(axis=1) > 0.3]))
    for r in heldout:
        if r.file in (render.CUBE, render.VOL30):
            labels = render.region_labels(micrographs, r)
            for view in (labels, labels.T, labels[::-1], labels[:, ::-1]):
                w = sliding_window_view(np.ascontiguousarray(view), (k, k))[::8, ::8]
                assert not set(map(bytes, w.reshape(-1, k * k))) & known, r.name


def test_training_scaling_is_what_the_card_tells_the_runtime(render, sem_train):
    """Training scales each crop with render.scale_range; `fusion segment` applies the card's
    preprocessing (fusion.models): the two must give the network the same numbers."""
    import yaml

    from fusion.models._preprocess import normaliser
    from fusion.registry import Preprocessing

    card = yaml.safe_load((MODELS / "unet-nmc" / "card.yaml").read_text(encoding="utf-8"))
    (spec,) = [Preprocessing.model_validate(p) for p in card["preprocessing"]]
    assert spec.tensor == card["inputs"][0]["name"]
    image = render.render_sem(
        sem_train, seed=3, params=render.sample_params(np.random.default_rng(5))
    )
    card_way = normaliser(spec.steps, lambda: [image])(image)
    np.testing.assert_allclose(card_way, render.scale_range(image), atol=1e-6)
    assert card_way.min() == 0.0 and card_way.max() == 1.0
