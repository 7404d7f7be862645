"""EBSD, EELS and EDS loaders against the bare reader call on the same file.

Usage (from the repository root)::

    uv run python benchmarks/bench_loaders_ebsd_eels.py              # ../shared/data/instruments
    uv run python benchmarks/bench_loaders_ebsd_eels.py --repeat 21 --large 0   # no synthetic map

For every real EBSD and EELS file: the bare reader call (orix ``io.load``, RosettaSciIO
``file_reader``, data read into memory) against ``fusion.loaders.load`` with every channel read
into memory (DM data are lazy until then), medians of ``--repeat`` runs interleaved in one
process after a warm-up (imports, page cache), in the table of ``bench_loaders_sem_xct.py``
(whose ``time_row`` this script uses): the loader with its sha256 of the file (provenance) and
with the hash patched out (benchmark only), the hash alone, and what no loader can skip --
building the xarray objects, writing the original metadata as JSON -- timed alone, which
with the bare call and the hash make a floor for the ratio on one core.
The shared files are small, so the loader's fixed cost dominates their ratio; ``--large N``
adds an N x N ``.ang`` map written by orix's own writer (random orientations, one phase) to
show the ratio on a map of realistic size.
Prints a markdown table. No wall time is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from bench_loaders_sem_xct import HEADER, time_row

FILES = {
    "ebsd": [
        "sdss_ferrite_austenite.ang",
        "S00.ANG",
        "ACOM.ang",
        "twins.ctf",
    ],
    "eels": [
        "EELS_SI.dm4",
        "test-EELS_spectrum.dm3",
        "EELS_STO.dm3",
        "coreloss_spectrum.msa",
        "lowloss_spectrum.msa",
    ],
    "eds": ["velox_SI_16x16_215kx.emd"],
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruments"


def bare_reader(path: Path) -> tuple[str, Callable[[], object]]:
    """The reader call our loader wraps, with the data read into memory."""
    suffix = path.suffix.lower()
    if suffix in (".ang", ".ctf"):
        from orix import io

        options = {"autogen_names": False} if suffix == ".ang" else {}
        return "orix.io.load", lambda: io.load(path, **options)
    if suffix == ".emd":
        from rsciio.emd import file_reader

        return "rsciio.emd.file_reader", lambda: file_reader(str(path), sum_frames=True)
    if suffix in (".dm3", ".dm4"):
        from rsciio.digitalmicrograph import file_reader

        return "rsciio.digitalmicrograph.file_reader", lambda: file_reader(str(path))
    from rsciio.msa import file_reader

    return "rsciio.msa.file_reader", lambda: file_reader(str(path))


def write_large_ang(folder: Path, edge: int) -> Path:
    """An edge x edge EDAX .ang map (0.5 um step) written by orix from random orientations."""
    import numpy as np
    from orix import io
    from orix.crystal_map import CrystalMap, PhaseList, create_coordinate_arrays
    from orix.quaternion import Rotation

    coords, size = create_coordinate_arrays((edge, edge), (0.5, 0.5))
    rng = np.random.default_rng(0)
    xmap = CrystalMap(
        rotations=Rotation.random(size),
        phase_id=np.ones(size, dtype=int),
        x=coords["x"],
        y=coords["y"],
        phase_list=PhaseList(names="ferrite", point_groups="m-3m", ids=1),
        prop={"iq": rng.random(size), "ci": rng.random(size)},
    )
    path = folder / f"synthetic_{edge}x{edge}.ang"
    io.save(path, xmap)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FUSION_SHARED_DATA", DEFAULT_DATA.parent)) / "instruments",
        help="the instruments folder of the shared data",
    )
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--large", type=int, default=400, help="edge of a synthetic .ang (0: none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # stale headers and assumed units warn on every load
    cases = [
        (kind, args.data / kind / name, args.repeat)
        for kind, names in FILES.items()
        for name in names
    ]

    print("\n".join(HEADER))
    with tempfile.TemporaryDirectory(prefix="fusion-bench-") as work:
        if args.large:
            cases.append(
                ("ebsd", write_large_ang(Path(work), args.large), max(3, args.repeat // 3))
            )
        for kind, path, repeat in cases:
            reader, bare = bare_reader(path)
            name = f"{kind}/{path.name}"
            print(
                time_row(name, kind, {}, lambda _, bare=bare: bare(), f"`{reader}`", path, repeat)
            )


if __name__ == "__main__":
    main()
