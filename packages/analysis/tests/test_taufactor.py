"""Cross-check against TauFactor itself, where it is installed (it needs torch, which no fusion
install set has, so this is skipped in CI; docs/analysis.md records a run)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fusion.analysis import tortuosity_factor

tau = pytest.importorskip("taufactor")


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("crop", [np.s_[16:48, 16:48, 64:96], np.s_[:, :, :]], ids=["32", "128"])
def test_agrees_with_taufactor(micrographs, crop, axis):
    labels = tifffile.imread(micrographs / "nmc_xct_3d_3phase_128cube.tif")[crop]
    solver = tau.Solver(np.moveaxis(labels == 0, axis, 0).astype(np.uint8), device="cpu")
    solver.solve(verbose=False, conv_crit=1e-4, iter_limit=100_000)
    result = tortuosity_factor(labels, conducting_label=0, axis=axis)
    assert result.tau == pytest.approx(float(np.ravel(solver.tau)[0]), rel=1e-4)
    assert result.d_eff == pytest.approx(float(np.ravel(solver.D_eff)[0]), rel=1e-4)
