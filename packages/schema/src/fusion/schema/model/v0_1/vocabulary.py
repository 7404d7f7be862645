"""Controlled vocabularies of format 0.1: units, modalities, origins, crystal symmetry, elements.

Everything a validator compares a string against lives here, once, so that the prose
specification, the JSON Schema and the validator cannot drift apart.
"""

from __future__ import annotations

__all__ = [
    "CHANNEL_DIMS",
    "ELEMENTS",
    "MODALITIES",
    "ORIGINS",
    "POINT_GROUPS",
    "QUAT_COMPONENTS",
    "SPATIAL_DIMS",
    "UNITS",
    "UNIT_LOOKALIKES",
    "suggest_unit",
]

SPATIAL_DIMS: tuple[str, str, str] = ("z", "y", "x")
"""Spatial dimensions of every scale group, in this order; coordinates in micrometres."""

QUAT_COMPONENTS: tuple[str, str, str, str] = ("w", "x", "y", "z")
"""Values of the ``quat`` coordinate: scalar part first."""

CHANNEL_DIMS: dict[str, str] = {
    "quat": "unit quaternion components (w, x, y, z), crystal-to-sample rotation",
    "element": "chemical element symbols; values are fractions in [0, 1]",
    "energy_loss": "energy loss in eV, strictly increasing",
}
"""Extra trailing dimensions a channel may carry after (z, y, x), with their meaning."""

MODALITIES: tuple[str, ...] = (
    "SEM",
    "FIB-SEM",
    "XCT",
    "EBSD",
    "TKD",
    "EELS",
    "EDS",
    "TEM",
    "STEM",
    "XRD",
    "AFM",
    "optical",
    "derived",
)
"""Techniques a channel can come from; ``derived`` for values computed from other channels."""

ORIGINS: tuple[str, ...] = ("measured", "inferred", "generated", "derived")
"""How a channel's values came to be.

measured: read from an instrument file; inferred: predicted from measured data by a model
(segmentation, super-resolution); generated: synthesised by a generative model or a
stochastic procedure; derived: computed deterministically from other channels.
"""

UNITS: dict[str, str] = {
    "1": "dimensionless (labels, fractions, normalised intensity)",
    "percent": "per cent",
    "counts": "detector counts",
    "m": "metre",
    "mm": "millimetre",
    "um": "micrometre",
    "nm": "nanometre",
    "pm": "picometre",
    "angstrom": "ångström",
    "1/m": "per metre",
    "1/cm": "per centimetre (linear attenuation)",
    "1/mm": "per millimetre",
    "1/um": "per micrometre (specific surface area)",
    "eV": "electronvolt",
    "keV": "kiloelectronvolt",
    "V": "volt",
    "kV": "kilovolt",
    "A": "ampere",
    "nA": "nanoampere",
    "pA": "picoampere",
    "s": "second",
    "ms": "millisecond",
    "us": "microsecond",
    "ns": "nanosecond",
    "degree": "angle in degrees",
    "radian": "angle in radians",
    "K": "kelvin",
    "g/cm3": "gram per cubic centimetre",
}
"""The canonical unit spellings (UDUNITS-2 symbols) a channel or coordinate may use."""

UNIT_LOOKALIKES: dict[str, str] = {
    "micron": "um",
    "microns": "um",
    "micrometer": "um",
    "micrometre": "um",
    "micrometers": "um",
    "micrometres": "um",
    "µm": "um",
    "μm": "um",
    "u": "um",
    "nanometer": "nm",
    "nanometre": "nm",
    "nanometers": "nm",
    "millimeter": "mm",
    "millimetre": "mm",
    "meter": "m",
    "metre": "m",
    "å": "angstrom",
    "ångström": "angstrom",
    "deg": "degree",
    "degrees": "degree",
    "°": "degree",
    "rad": "radian",
    "radians": "radian",
    "count": "counts",
    "cts": "counts",
    "%": "percent",
    "dimensionless": "1",
    "unitless": "1",
    "none": "1",
    "-": "1",
    "ev": "eV",
    "kev": "keV",
    "electronvolt": "eV",
    "µs": "us",
    "μs": "us",
    "sec": "s",
    "seconds": "s",
}
"""Spellings seen in the wild that are refused, mapped to the canonical unit to use instead."""


def suggest_unit(found: str) -> str | None:
    """Return the canonical unit a refused spelling most likely means, or None.

    >>> suggest_unit("micron")
    'um'
    >>> suggest_unit("EV")
    'eV'
    >>> suggest_unit("furlong") is None
    True
    """
    key = found.strip().lower()
    if key in UNIT_LOOKALIKES:
        return UNIT_LOOKALIKES[key]
    by_lower = {unit.lower(): unit for unit in UNITS}
    return by_lower.get(key)


POINT_GROUPS: tuple[str, ...] = (
    # triclinic, monoclinic, orthorhombic
    "1", "-1", "2", "m", "2/m", "222", "mm2", "mmm",
    # tetragonal
    "4", "-4", "4/m", "422", "4mm", "-42m", "-4m2", "4/mmm",
    # trigonal (with the settings orix and the EBSD vendors write)
    "3", "-3", "32", "321", "312", "3m", "3m1", "31m", "-3m", "-3m1", "-31m",
    # hexagonal
    "6", "-6", "6/m", "622", "6mm", "-6m2", "-62m", "6/mmm",
    # cubic
    "23", "m-3", "432", "-43m", "m-3m",
)  # fmt: skip
"""Crystallographic point groups in Hermann–Mauguin short notation (all 32, common settings)."""

ELEMENTS: tuple[str, ...] = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga",
    "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd",
    "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm",
    "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os",
    "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa",
    "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg",
    "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
)  # fmt: skip
"""Chemical element symbols, Z = 1 to 118."""
