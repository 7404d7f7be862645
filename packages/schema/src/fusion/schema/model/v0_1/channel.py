"""Attributes of channels (data variables) and of the spatial coordinates in a scale group.

Channels carry CF-style attributes (``long_name``, ``units``, ``flag_values``,
``flag_meanings``) next to the fusion ones (``modality``, ``origin``, ``provenance``), flat
on the array so that plain xarray shows them as ``ds.phase.attrs``. Other attributes
(``comment``, instrument metadata) are allowed and kept.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, StringConstraints, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ._base import FusionModel, Identifier, NonEmptyStr
from .vocabulary import MODALITIES, ORIGINS, POINT_GROUPS, UNITS, suggest_unit

__all__ = ["ChannelAttrs", "CoordinateAttrs", "check_unit"]


def check_unit(value: str) -> str:
    """Accept a canonical unit spelling; refuse look-alikes with the spelling to use.

    >>> check_unit("um")
    'um'
    """
    if value in UNITS:
        return value
    hint = suggest_unit(value)
    if hint is not None:
        raise PydanticCustomError(
            "unit_lookalike",
            "unit '{found}' is not in the vocabulary; write '{hint}'",
            {"found": value, "hint": hint},
        )
    raise PydanticCustomError(
        "unit_unknown",
        "unit '{found}' is not in the vocabulary (UDUNITS-2 symbols such as 'um', 'eV', "
        "'counts', '1'); see the units table of the specification",
        {"found": value},
    )


Unit = Annotated[
    str,
    AfterValidator(check_unit),
    WithJsonSchema({"type": "string", "enum": list(UNITS)}),
]
Modality = Literal[MODALITIES]  # type: ignore[valid-type]
Origin = Literal[ORIGINS]  # type: ignore[valid-type]
PointGroup = Literal[POINT_GROUPS]  # type: ignore[valid-type]
FlagWord = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]+$")]
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")]


class ChannelAttrs(FusionModel):
    """Attributes of one channel. Unknown attributes are allowed and kept."""

    model_config = ConfigDict(extra="allow")

    long_name: NonEmptyStr
    """Human name of the quantity, e.g. ``phase label`` or ``backscattered electron intensity``."""
    units: Unit
    """Unit from the controlled vocabulary; ``1`` for labels, fractions and normalised data."""
    modality: Modality
    """Technique the values come from (or emulate, for generated data); ``derived`` if computed."""
    origin: Origin
    """measured, inferred, generated or derived."""
    provenance: Identifier
    """Id of the activity in the root provenance graph that made this channel."""
    flag_values: list[int] | None = None
    """Label channels: the integer values that occur (CF)."""
    flag_meanings: str | None = None
    """Label channels: one word per flag value, space-separated, e.g. ``pore NMC CBD`` (CF)."""
    flag_colors: list[HexColor] | None = None
    """Label channels, optional: one ``#rrggbb`` colour per flag value, for viewers."""
    rotation: Literal["crystal_to_sample"] | None = None
    """Orientation channels: what the quaternion rotates. Only ``crystal_to_sample`` in 0.1."""
    crystal_symmetry: dict[FlagWord, PointGroup] | None = None
    """Orientation channels: point group (Hermann–Mauguin) of each phase, by phase name."""
    phase_channel: Identifier | None = None
    """Orientation channels, optional: the label channel whose flag_meanings name the phases."""

    @model_validator(mode="after")
    def _flags_are_consistent(self) -> ChannelAttrs:
        values, meanings = self.flag_values, self.flag_meanings
        if (values is None) != (meanings is None):
            raise PydanticCustomError(
                "flags_incomplete",
                "flag_values and flag_meanings go together; got only {present}",
                {
                    "present": "flag_values" if meanings is None else "flag_meanings",
                    "attribute": "flag_values",
                },
            )
        if values is None or meanings is None:
            if self.flag_colors is not None:
                raise PydanticCustomError(
                    "flags_incomplete",
                    "flag_colors given without flag_values",
                    {"attribute": "flag_colors"},
                )
            return self
        words = meanings.split()
        if len(words) != len(values):
            raise PydanticCustomError(
                "flags_mismatch",
                "expected one flag_meanings word per flag_values entry, but got {n_values} "
                "values and {n_words} words",
                {"n_values": len(values), "n_words": len(words), "attribute": "flag_values"},
            )
        if len(set(values)) != len(values) or len(set(words)) != len(words):
            raise PydanticCustomError(
                "flags_duplicate",
                "flag_values and flag_meanings must be unique, but got {values} / '{meanings}'",
                {"values": values, "meanings": meanings, "attribute": "flag_values"},
            )
        bad = [w for w in words if not _is_flag_word(w)]
        if bad:
            raise PydanticCustomError(
                "flags_mismatch",
                "flag_meanings words may hold letters, digits and _ . + - only; got {bad}",
                {"bad": bad, "attribute": "flag_meanings"},
            )
        if self.flag_colors is not None and len(self.flag_colors) != len(values):
            raise PydanticCustomError(
                "flags_mismatch",
                "expected one flag_colors entry per flag value, but got {n_colors} colours for "
                "{n_values} values",
                {
                    "n_colors": len(self.flag_colors),
                    "n_values": len(values),
                    "attribute": "flag_colors",
                },
            )
        return self

    @property
    def phase_names(self) -> dict[int, str]:
        """Map each flag value to its meaning; empty for channels that are not labels."""
        if self.flag_values is None or self.flag_meanings is None:
            return {}
        return dict(zip(self.flag_values, self.flag_meanings.split(), strict=True))


def _is_flag_word(word: str) -> bool:
    return all(ch.isalnum() or ch in "_.+-" for ch in word)


class CoordinateAttrs(FusionModel):
    """Attributes of the ``z``, ``y`` and ``x`` coordinate arrays. Others are allowed and kept."""

    model_config = ConfigDict(extra="allow")

    units: Literal["um"]
    """Always micrometres: positions of voxel centres in the sample frame."""
    long_name: str | None = None
