"""`make_example`: a small two-scale dataset built from generated data, conforming to 0.1.

An ``electrode`` group (0.4 µm voxels: phase labels and an XCT-like grey value) contains a
``particle`` group (50 nm voxels: phase, grain ids, crystal orientations and an elemental
composition), placed inside the electrode by their coordinates. Nothing in it is measured;
every channel says so in its ``origin`` and provenance.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import xarray as xr

from .model.v0_2 import SCHEMA_ID
from .provenance import add_activity, new_root

__all__ = ["make_example"]

PHASES = {"pore": 0, "NMC": 1, "CBD": 2}
PHASE_COLORS = ["#1f1f1f", "#d95f02", "#7570b3"]
ELEMENTS = ["Li", "Ni", "Mn", "Co", "O", "C", "F"]
# atomic fractions: LiNi0.6Mn0.2Co0.2O2 in NMC; carbon black with PVDF binder in CBD
NMC_COMPOSITION = [0.25, 0.15, 0.05, 0.05, 0.50, 0.0, 0.0]
CBD_COMPOSITION = [0.0, 0.0, 0.0, 0.0, 0.02, 0.78, 0.20]
SIZES = {
    "tiny": {"electrode": (4, 12, 12), "particle": (8, 8, 8)},
    "small": {"electrode": (16, 40, 40), "particle": (32, 32, 32)},
    "medium": {"electrode": (64, 128, 128), "particle": (96, 96, 96)},
}
ELECTRODE_VOXEL_UM = 0.4
PARTICLE_VOXEL_UM = 0.05
PARTICLE_ORIGIN_UM = (0.6, 1.2, 1.2)


def make_example(
    size: Literal["tiny", "small", "medium"] = "small",
    seed: int = 0,
    created: dt.datetime | None = None,
) -> xr.DataTree:
    """Build the example dataset in memory.

    Parameters
    ----------
    size
        ``tiny`` (a few kB, for doctests), ``small`` (the default, ~1 MB) or ``medium``.
    seed
        Seed of every random draw; the same seed gives the same values.
    created
        Creation time to record; now (UTC) by default.

    Examples
    --------
    >>> tree = make_example(size="tiny")
    >>> sorted(tree.children)
    ['electrode', 'particle']
    >>> tree["particle"].to_dataset().fusion.voxel_size_um
    (0.05, 0.05, 0.05)
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    rng = np.random.default_rng(seed)
    now = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
    shapes = SIZES[size]
    electrode = _electrode_group(rng, shapes["electrode"])
    particle = _particle_group(rng, shapes["particle"])
    root = xr.Dataset(attrs={"fusion": _root_metadata(now, size, seed)})
    return xr.DataTree.from_dict({"/": root, "/electrode": electrode, "/particle": particle})


def _coords(shape: tuple[int, int, int], voxel_um: float, origin_um=(0.0, 0.0, 0.0)) -> dict:
    return {
        dim: xr.Variable(
            dim,
            origin + voxel_um * np.arange(n, dtype=np.float64),
            {"units": "um", "long_name": f"{dim} position of voxel centres"},
        )
        for dim, n, origin in zip(("z", "y", "x"), shape, origin_um, strict=True)
    }


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], width: float) -> np.ndarray:
    """Gaussian random field: white noise low-pass filtered in Fourier space (periodic)."""
    noise = rng.standard_normal(shape)
    freqs = np.meshgrid(*(np.fft.fftfreq(n) for n in shape), indexing="ij")
    k2 = sum(f**2 for f in freqs)
    field = np.fft.ifftn(np.fft.fftn(noise) * np.exp(-2 * (np.pi * width) ** 2 * k2)).real
    return (field - field.mean()) / field.std()


def _labels_from_field(field: np.ndarray, fractions: tuple[float, float, float]) -> np.ndarray:
    """Threshold a field into pore / NMC / CBD with the given volume fractions."""
    low, high = np.quantile(field, [fractions[0], fractions[0] + fractions[2]])
    labels = np.full(field.shape, PHASES["NMC"], dtype=np.uint8)
    labels[field < low] = PHASES["pore"]
    labels[(field >= low) & (field < high)] = PHASES["CBD"]
    return labels


def _phase_variable(labels: np.ndarray, modality: str, origin: str, activity: str) -> xr.Variable:
    return xr.Variable(
        ("z", "y", "x"),
        labels,
        {
            "long_name": "phase label",
            "units": "1",
            "modality": modality,
            "origin": origin,
            "provenance": activity,
            "flag_values": list(PHASES.values()),
            "flag_meanings": " ".join(PHASES),
            "flag_colors": PHASE_COLORS,
        },
    )


def _electrode_group(rng: np.random.Generator, shape: tuple[int, int, int]) -> xr.Dataset:
    labels = _labels_from_field(_smooth_field(rng, shape, 2.0), (0.34, 0.52, 0.14))
    levels = np.array([0.08, 0.82, 0.35], dtype=np.float32)  # pore, NMC, CBD attenuation
    grey = levels[labels] + 0.03 * rng.standard_normal(shape).astype(np.float32)
    grayscale = xr.Variable(
        ("z", "y", "x"),
        np.clip(grey, 0, 1).astype(np.float32),
        {
            "long_name": "normalised X-ray attenuation",
            "units": "1",
            "modality": "XCT",
            "origin": "derived",
            "provenance": "render-grayscale",
        },
    )
    return xr.Dataset(
        {
            "phase": _phase_variable(labels, "XCT", "generated", "generate-example"),
            "grayscale": grayscale,
        },
        coords=_coords(shape, ELECTRODE_VOXEL_UM),
        attrs={"description": "electrode scale: 0.4 um voxels"},
    )


def _particle_group(rng: np.random.Generator, shape: tuple[int, int, int]) -> xr.Dataset:
    labels = _labels_from_field(_smooth_field(rng, shape, 3.0), (0.15, 0.58, 0.27))
    grains = _voronoi_grains(rng, shape, n_grains=max(4, shape[0] // 2)) + 1
    grains[labels != PHASES["NMC"]] = 0
    quats = _random_unit_quaternions(rng, int(grains.max()) + 1).astype(np.float32)
    orientation = quats[grains]
    orientation[labels != PHASES["NMC"]] = np.nan
    table = np.zeros((3, len(ELEMENTS)), dtype=np.float32)
    table[PHASES["NMC"]], table[PHASES["CBD"]] = NMC_COMPOSITION, CBD_COMPOSITION
    jitter = 1 + 0.02 * rng.standard_normal((*shape, len(ELEMENTS))).astype(np.float32)
    composition = np.clip(table[labels] * jitter, 0, 1)
    made = "generate-example"
    data_vars = {
        "phase": _phase_variable(labels, "FIB-SEM", "generated", made),
        "grain_id": xr.Variable(
            ("z", "y", "x"),
            grains.astype(np.uint16),
            {
                "long_name": "grain id (0 outside NMC)",
                "units": "1",
                "modality": "EBSD",
                "origin": "generated",
                "provenance": made,
            },
        ),
        "orientation": xr.Variable(
            ("z", "y", "x", "quat"),
            orientation,
            {
                "long_name": "crystal orientation",
                "units": "1",
                "modality": "EBSD",
                "origin": "generated",
                "provenance": made,
                "rotation": "crystal_to_sample",
                "crystal_symmetry": {"NMC": "-3m"},
                "phase_channel": "phase",
                "comment": "NaN quaternions where there is no crystal (pore, CBD)",
            },
        ),
        "composition": xr.Variable(
            ("z", "y", "x", "element"),
            composition,
            {
                "long_name": "atomic fraction",
                "units": "1",
                "modality": "EELS",
                "origin": "generated",
                "provenance": made,
            },
        ),
    }
    coords = _coords(shape, PARTICLE_VOXEL_UM, PARTICLE_ORIGIN_UM)
    coords["quat"] = ("quat", np.array(["w", "x", "y", "z"], dtype=object))
    coords["element"] = ("element", np.array(ELEMENTS, dtype=object))
    return xr.Dataset(
        data_vars, coords=coords, attrs={"description": "particle scale: 50 nm voxels"}
    )


def _voronoi_grains(rng: np.random.Generator, shape: tuple[int, ...], n_grains: int) -> np.ndarray:
    seeds = rng.uniform(0, 1, (n_grains, 3)) * np.array(shape)
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    best = np.full(shape, np.inf)
    owner = np.zeros(shape, dtype=np.int64)
    for index, seed in enumerate(seeds):
        dist = ((grid - seed) ** 2).sum(axis=-1)
        closer = dist < best
        best[closer], owner[closer] = dist[closer], index
    return owner


def _random_unit_quaternions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniformly distributed rotations (Shoemake 1992), scalar part made non-negative."""
    u1, u2, u3 = rng.uniform(0, 1, (3, n))
    q = np.stack(
        [
            np.sqrt(u1) * np.cos(2 * np.pi * u3),
            np.sqrt(1 - u1) * np.sin(2 * np.pi * u2),
            np.sqrt(1 - u1) * np.cos(2 * np.pi * u2),
            np.sqrt(u1) * np.sin(2 * np.pi * u3),
        ],
        axis=-1,
    )
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def _root_metadata(now: dt.datetime, size: str, seed: int) -> dict:
    stamp = now.isoformat()
    root = new_root(
        "Synthetic two-scale NMC cathode (fusion example)",
        description="Generated by `fusion example`: shows every kind of channel of the "
        "format. Nothing in it is a measurement.",
        license="CC0-1.0",
        sample={
            "material": "LiNi0.6Mn0.2Co0.2O2 (NMC622), synthetic",
            "electrode": "cathode (synthetic)",
            "notes": "Gaussian random fields thresholded to pore / NMC / CBD fractions.",
        },
        created=stamp,
        schema=SCHEMA_ID,
    )
    maintainers = {"fusion-maintainers": {"type": "group", "name": "fusion maintainers"}}
    add_activity(
        root,
        "generate",
        activity_id="generate-example",
        parameters={"size": size, "seed": seed},
        generated=[
            "/electrode/phase",
            "/particle/phase",
            "/particle/grain_id",
            "/particle/orientation",
            "/particle/composition",
        ],
        software="fusion-schema",
        started=stamp,
        ended=stamp,
        agents=maintainers,
    )
    add_activity(
        root,
        "derive",
        activity_id="render-grayscale",
        parameters={"levels": [0.08, 0.82, 0.35], "noise_sd": 0.03},
        used=["/electrode/phase"],
        generated=["/electrode/grayscale"],
        software="fusion-schema",
        started=stamp,
        ended=stamp,
        agents=maintainers,
    )
    return root
