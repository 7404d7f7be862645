"""Volume fractions: the real NMC volume's README numbers, flag values, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import xarray as xr

from fusion.analysis import AnalysisError, volume_fractions


def test_real_volume_matches_its_readme(micrographs):
    labels = tifffile.imread(micrographs / "nmc_xct_3d_3phase_128cube.tif")
    fractions = volume_fractions(labels)
    assert fractions == pytest.approx({0: 0.344, 1: 0.520, 2: 0.137}, abs=0.001)
    assert sum(fractions.values()) == pytest.approx(1.0)


def test_label_channel_lists_every_flag_value_even_when_absent():
    phase = xr.DataArray(
        np.array([[0, 0], [2, 2]], dtype=np.uint8),
        dims=("y", "x"),
        attrs={"flag_values": [0, 1, 2], "flag_meanings": "pore NMC CBD"},
    )
    assert volume_fractions(phase) == {0: 0.5, 1: 0.0, 2: 0.5}
    assert list(volume_fractions(phase)) == [0, 1, 2]


def test_float_labels_are_refused():
    with pytest.raises(AnalysisError, match="expected integer labels, got dtype float32"):
        volume_fractions(np.zeros((2, 2), dtype=np.float32))
