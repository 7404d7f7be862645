"""Fixtures: real EBSD and EELS files loaded once, and a small phase volume of ball particles."""

from __future__ import annotations

import warnings

import pytest
import xarray as xr
from transfer_volumes import ball_phases, phase_tree

from fusion.loaders import load
from fusion.transfer import ebsd_grains


@pytest.fixture(scope="session")
def twins(instruments) -> xr.DataTree:
    """Oxford .ctf of magnesium with twins: hexagonal (6/mmm), 46 points not indexed."""
    return load("ebsd", instruments / "ebsd" / "twins.ctf")


@pytest.fixture(scope="session")
def twins_grains(twins):
    return ebsd_grains(twins)


@pytest.fixture(scope="session")
def duplex(instruments) -> xr.DataTree:
    """EMsoft .ang of a duplex steel: austenite and ferrite, both m-3m."""
    return load("ebsd", instruments / "ebsd" / "sdss_ferrite_austenite.ang")


@pytest.fixture(scope="session")
def coreloss(instruments) -> xr.DataTree:
    """EMSA spectrum of a manganese oxide: O K and Mn L2,3 edges."""
    return load("eels", instruments / "eels" / "coreloss_spectrum.msa")


@pytest.fixture(scope="session")
def spectrum_image(instruments) -> xr.DataTree:
    """Gatan DM4 spectrum image, 2 x 2 pixels x 2048 channels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load("eels", instruments / "eels" / "EELS_SI.dm4")


@pytest.fixture
def balls() -> xr.DataTree:
    return phase_tree(ball_phases())
