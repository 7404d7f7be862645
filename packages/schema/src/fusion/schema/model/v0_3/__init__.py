"""Format 0.3 of fused multi-modal voxel datasets: 0.2 plus X-ray spectra.

Everything of 0.2 holds unchanged (the models below are 0.2's), except that the root declares
``schema: fusion/0.3`` and a channel of a scale group may also carry the trailing dimension
``xray_energy``: the X-ray energy of an energy-dispersive (EDS) spectrum in eV, strictly
increasing, as EELS spectra carry ``energy_loss``. Writers declare 0.3 only for a dataset that
uses it, so that 0.2 readers keep reading the others.
"""

from typing import Literal

from pydantic import Field

from ..v0_1 import CHANNEL_DIMS as CHANNEL_DIMS_0_1
from ..v0_2 import PROJECTION_LAYOUTS
from ..v0_2 import RootAttrs as RootAttrs02

__all__ = ["CHANNEL_DIMS", "NEW_CHANNEL_DIMS", "PROJECTION_LAYOUTS", "SCHEMA_ID", "RootAttrs"]

SCHEMA_ID = "fusion/0.3"
"""The value of ``schema`` in a store that uses what 0.3 adds."""

NEW_CHANNEL_DIMS: dict[str, str] = {
    "xray_energy": "X-ray energy of an EDS spectrum in eV, strictly increasing",
}
"""The trailing channel dimensions 0.3 adds to those of 0.1 and 0.2."""

CHANNEL_DIMS: dict[str, str] = {**CHANNEL_DIMS_0_1, **NEW_CHANNEL_DIMS}
"""Extra trailing dimensions a channel may carry after (z, y, x) in 0.3, with their meaning."""


class RootAttrs(RootAttrs02):
    """Everything under the root group's ``fusion`` attribute (format 0.3)."""

    schema_id: Literal["fusion/0.3"] = Field(alias="schema")  # type: ignore[assignment]
    """Format identifier and version, ``fusion/0.3``. Readers dispatch on it."""
