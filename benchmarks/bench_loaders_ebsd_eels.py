"""EBSD and EELS loaders against the bare reader call on the same file.

Usage (from the repository root)::

    uv run python benchmarks/bench_loaders_ebsd_eels.py              # ../shared/data/instruments
    uv run python benchmarks/bench_loaders_ebsd_eels.py --repeat 21 --large 0   # no synthetic map

For every real EBSD and EELS file: the median of ``--repeat`` runs of the bare reader call
(orix ``io.load``, RosettaSciIO ``file_reader``, data read into memory) and of
``fusion.loaders.load`` with its data read into memory (DM data are lazy until then), the two
interleaved in one process after a warm-up (imports, page cache). The loader's time includes the
sha256 of the file (provenance; files of 1 MiB or more are hashed in a background thread while
the reader works); the last column is from separate runs with the loaders' ``sha256_of`` patched
out (benchmark only), and the hash alone has its own column.
The shared files are small, so the loader's fixed cost (xarray tree and metadata JSON, ~2-5 ms)
dominates their ratio; ``--large N`` adds an N x N ``.ang`` map written by orix's own writer
(random orientations, one phase) to show the ratio on a map of realistic size.
Prints a markdown table. No wall time is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import fusion.loaders._provenance as provenance
from fusion.loaders import load
from fusion.loaders._provenance import sha256_of

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
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruments"


def bare_reader(path: Path) -> tuple[str, Callable[[], object]]:
    """The reader call our loader wraps, with the data read into memory."""
    suffix = path.suffix.lower()
    if suffix in (".ang", ".ctf"):
        from orix import io

        options = {"autogen_names": False} if suffix == ".ang" else {}
        return "orix.io.load", lambda: io.load(path, **options)
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


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(kind: str, path: Path, repeat: int) -> dict[str, float | str]:
    """Median seconds of the bare call, the loader (data loaded) and hashing alone."""
    name, bare = bare_reader(path)

    def ours() -> None:
        load(kind, path).load()

    def ours_without_hash() -> None:
        real = provenance.sha256_of, provenance.sha256_of_bytes
        provenance.sha256_of = provenance.sha256_of_bytes = lambda _: "0" * 64
        try:
            ours()
        finally:
            provenance.sha256_of, provenance.sha256_of_bytes = real

    bare(), ours()  # warm-up: imports, page cache
    runs: dict[str, list[float]] = {"bare": [], "ours": [], "nohash": [], "hash": []}
    for _ in range(repeat):
        runs["bare"].append(timed(bare))
        runs["ours"].append(timed(ours))
        runs["nohash"].append(timed(ours_without_hash))
        runs["hash"].append(timed(lambda: sha256_of(path)))
    result: dict[str, float | str] = {k: statistics.median(v) for k, v in runs.items()}
    result["reader"] = name
    return result


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

    print(
        "| file | bare reader | bare (ms) | loader (ms) | sha256 alone (ms) | loader / bare "
        "| without sha256 (patched out) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="fusion-bench-") as work:
        if args.large:
            cases.append(
                ("ebsd", write_large_ang(Path(work), args.large), max(3, args.repeat // 3))
            )
        for kind, path, repeat in cases:
            r = measure(kind, path, repeat)
            bare, ours, digest = float(r["bare"]), float(r["ours"]), float(r["hash"])
            nohash = float(r["nohash"])
            print(
                f"| {kind}/{path.name} | `{r['reader']}` | {bare * 1e3:.1f} | {ours * 1e3:.1f} "
                f"| {digest * 1e3:.1f} | {ours / bare:.2f} | {nohash / bare:.2f} |"
            )


if __name__ == "__main__":
    main()
