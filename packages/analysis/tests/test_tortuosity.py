"""Tortuosity factor: TauFactor 1.2.1's numbers on real volumes, an independent re-implementation
of TauFactor's iteration on crops, and cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
import xarray as xr

from fusion.analysis import AnalysisError, tortuosity_factor

XCT_CUBE = "nmc_xct_3d_3phase_128cube.tif"
XCT_SLAB = "nmc_xct_3d_3phase_30x252x253.tif"


@pytest.fixture(scope="module")
def cube(micrographs):
    return tifffile.imread(micrographs / XCT_CUBE)


# The micrographs README: TauFactor 1.2.1 on CPU, pore (label 0) conducting, CBD insulating.
@pytest.mark.parametrize(
    ("axis", "tau", "d_eff"), [(0, 2.25, 0.153), (1, 2.41, 0.143), (2, 2.85, 0.120)]
)
def test_real_cube_reproduces_taufactor(cube, axis, tau, d_eff):
    result = tortuosity_factor(cube, conducting_label=0, axis=axis)
    assert result.tau == pytest.approx(tau, abs=0.005)
    assert result.d_eff == pytest.approx(d_eff, abs=0.0005)
    assert result.volume_fraction == pytest.approx(0.344, abs=0.001)
    assert result.tau == pytest.approx(result.volume_fraction / result.d_eff)
    assert 0 < result.iterations < 100  # multigrid-preconditioned, not ~1000 Jacobi steps


@pytest.mark.parametrize(("axis", "tau"), [(1, 2.11), (2, 2.15)])
def test_real_slab_reproduces_taufactor_along_its_long_axes(micrographs, axis, tau):
    slab = tifffile.imread(micrographs / XCT_SLAB)
    assert tortuosity_factor(slab, conducting_label=0, axis=axis).tau == pytest.approx(
        tau, abs=0.005
    )


def taufactor_iteration(conducting: np.ndarray, tolerance: float = 1e-7) -> tuple[float, float]:
    """τ and D_eff along axis 0 the way TauFactor computes them: a padded field with ghost
    layers at -1 and +1 counted as two neighbours, red-black over-relaxation until the flux
    through every cross-section agrees, D_rel = mean flux × Nx / (Ny Nz)."""
    nx, ny, nz = conducting.shape
    mask = conducting.astype(np.float64)
    field = np.zeros((nx + 2, ny + 2, nz + 2))
    field[0], field[-1] = -1.0, 1.0
    field[1:-1, 1:-1, 1:-1] = mask * np.linspace(-0.5, 0.5, nx)[:, None, None]
    weight = np.pad(mask, ((1, 1), (0, 0), (0, 0)), constant_values=2.0)
    weight = np.pad(weight, ((0, 0), (1, 1), (1, 1)))
    neighbours = sum(np.roll(weight, s, a) for a in range(3) for s in (1, -1))[1:-1, 1:-1, 1:-1]
    neighbours[(mask == 0) | (neighbours == 0)] = np.inf
    colour = np.indices(mask.shape).sum(axis=0) % 2
    omega = 2 - np.pi / (1.5 * nx)
    inner = (slice(1, -1),) * 3
    for sweep in range(20_000):
        total = sum(np.roll(field, s, a) for a in range(3) for s in (1, -1))[inner]
        step = total / neighbours - field[inner]
        field[inner] += omega * step * (colour == sweep % 2)
        if sweep % 200 == 199:
            flux = ((field[2:-1] - field[1:-2])[:, 1:-1, 1:-1] * mask[1:] * mask[:-1]).sum((1, 2))
            if np.ptp(flux) <= tolerance * flux.max():
                break
    else:
        raise AssertionError("the reference iteration did not converge")
    d_rel = flux.mean() * nx / (ny * nz)
    return float(mask.mean() / d_rel), float(d_rel)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_crop_agrees_with_taufactors_own_iteration(cube, axis):
    crop = cube[16:48, 16:48, 64:96]  # pore 0.237, τ 3.7 to 14: the CG + multigrid path
    expected_tau, expected_d = taufactor_iteration(np.moveaxis(crop == 0, axis, 0))
    result = tortuosity_factor(crop, conducting_label=0, axis=axis)
    assert result.tau == pytest.approx(expected_tau, rel=1e-4)
    assert result.d_eff == pytest.approx(expected_d, rel=1e-4)
    assert result.iterations > 0


@pytest.mark.parametrize("size", [8, 40])  # a direct solve, and CG with multigrid
def test_straight_channels_have_tau_one(size):
    channels = np.ones((size, size, size), dtype=np.uint8)
    channels[:, 1::3, ::2] = 0  # pores along axis 0
    result = tortuosity_factor(channels, conducting_label=0, axis=0)
    assert result.tau == pytest.approx(1.0, abs=1e-6)
    assert result.d_eff == pytest.approx(result.volume_fraction, abs=1e-6)
    assert result.percolating_fraction == result.volume_fraction


def test_single_phase_block_has_tau_and_relative_diffusivity_one():
    block = xr.DataArray(
        np.zeros((12, 10, 9), np.int16),
        dims=("z", "y", "x"),
        coords={d: (d, 0.4 * np.arange(n)) for d, n in zip("zyx", (12, 10, 9), strict=True)},
    )
    result = tortuosity_factor(block, conducting_label=0, axis="y")
    assert (result.axis, result.tau, result.volume_fraction) == (1, pytest.approx(1.0), 1.0)
    assert result.d_eff == pytest.approx(1.0)


def test_islands_count_in_the_volume_fraction_but_carry_nothing():
    labels = np.ones((10, 9, 9), dtype=np.uint8)
    labels[:, 4, 4] = 0  # one straight pore: 1/81 of the volume
    labels[3:6, 1, 1] = 0  # a pore cut off from both faces
    labels[0, 7, 7] = 0  # a pore touching the inlet only
    result = tortuosity_factor(labels, conducting_label=0, axis=0)
    assert result.d_eff == pytest.approx(1 / 81)
    assert result.volume_fraction == pytest.approx(14 / 810)
    assert result.tau == pytest.approx(14 / 10)


def test_a_phase_that_does_not_connect_the_faces_has_infinite_tau():
    layers = np.zeros((8, 8, 8), dtype=np.uint8)
    layers[:, :, 4] = 1  # a wall of NMC across axis 2: pore is cut in two along axis 2
    with pytest.warns(RuntimeWarning, match="phase 0 .* no path .* along axis 2: D_eff = 0"):
        result = tortuosity_factor(layers, conducting_label=0, axis=2)
    assert (result.tau, result.d_eff, result.percolating_fraction) == (math.inf, 0.0, 0.0)
    assert result.volume_fraction == pytest.approx(7 / 8)
    assert tortuosity_factor(layers, conducting_label=0, axis=0).tau == pytest.approx(1.0)


def test_anisotropic_voxels_weight_the_conductances_as_a_resistor_network():
    # axis 0 has 2 layers of 1 x 2 voxels; pore at (0,0), (0,1), (1,1): a dead end at (0,0)
    labels = np.array([[[0, 0]], [[1, 0]]], dtype=np.uint8).transpose(0, 2, 1)
    h0, h1, h2 = 2.0, 0.5, 3.0
    along, across = h1 * h2 / h0, h0 * h2 / h1  # face area / centre distance
    parallel = 2 * along + (2 * along * across) / (2 * along + across)  # inlet into (0,1)
    conductance = 1 / (1 / parallel + 1 / along + 1 / (2 * along))
    d_eff = conductance * (2 * h0) / (2 * h1 * h2)
    result = tortuosity_factor(labels, 0, axis=0, voxel_size_um=(h0, h1, h2))
    assert result.d_eff == pytest.approx(d_eff)
    assert result.tau == pytest.approx(0.75 / d_eff)


@pytest.mark.parametrize(
    ("labels", "axis", "message"),
    [
        (np.zeros((4, 4, 4), np.uint8), 3, "axis 3 is out of range for 3 dimensions"),
        (np.zeros((4, 4, 4), np.uint8), "z", "no dimension 'z'"),
        (np.zeros((1, 4, 4), np.uint8), 0, "axis 0 has 1 voxel; need at least 2"),
        (np.zeros((4,), np.uint8), 0, "expected 2 or 3 axes, got 1"),
        (np.zeros((4, 4), np.float32), 0, "expected integer labels"),
    ],
)
def test_bad_inputs_are_refused(labels, axis, message):
    with pytest.raises(AnalysisError, match=message):
        tortuosity_factor(labels, 0, axis)
