"""Validation speed: ``--level metadata`` on a ~1 GB store, ``--level data`` against a bare read
and against the same store without chunk manifests (what checking every chunk's SHA-256 costs).

Usage (from the repository root)::

    uv run python benchmarks/bench_validate.py               # ~1.3 GB store in a temp folder
    uv run python benchmarks/bench_validate.py --edge 200    # quicker, smaller store
    uv run python benchmarks/bench_validate.py --listing-only --store /tmp/g.zarr

``--listing-only`` times only ``--level metadata`` with and without its chunk-presence check
(one listing of the store against the chunk manifests, issue #25): on the tiny example, on a
store of many small chunks, and on each ``--store`` given.

Prints a table; the numbers in docs/benchmarks.md come from this script. Timings are medians of
``--repeat`` runs, ours and the reference interleaved in one process so that they share the
machine's state (page cache, CPU frequency). No wall time is asserted anywhere.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import xarray as xr

from fusion.schema import make_example, validate, write
from fusion.schema.checks import _validate
from fusion.schema.store._manifest import MANIFEST_NAME


def build_store(path: Path, edge: int) -> int:
    """A one-group store of shape (edge/2, edge, edge): uint8 phase + float32 grey values."""
    rng = np.random.default_rng(0)
    shape = (edge // 2, edge, edge)
    tree = make_example(size="tiny")
    electrode = tree["electrode"].to_dataset()
    coords = {d: 0.4 * np.arange(n, dtype=np.float64) for d, n in zip("zyx", shape, strict=True)}
    phase = rng.integers(0, 3, shape, dtype=np.uint8)
    grey = rng.random(shape, dtype=np.float32)
    ds = xr.Dataset(
        {
            "phase": (("z", "y", "x"), phase, electrode.phase.attrs),
            "grayscale": (("z", "y", "x"), grey, electrode.grayscale.attrs),
        },
        coords={d: (d, v, {"units": "um"}) for d, v in coords.items()},
    )
    big = xr.DataTree.from_dict({"/": xr.Dataset(attrs=tree.attrs), "/electrode": ds})
    fusion = big.attrs["fusion"]["provenance"]["activities"]
    fusion["generate-example"]["generated"] = ["/electrode/phase"]
    write(big, path, overwrite=True)
    return phase.nbytes + grey.nbytes


def build_many_chunks(path: Path, edge: int = 256, chunk: int = 16) -> int:
    """The example's root with one (edge/2, edge, edge) uint8 phase channel in ``chunk``³
    chunks; returns the number of chunk files."""
    tree = make_example(size="tiny")
    shape = (edge // 2, edge, edge)
    phase = np.random.default_rng(0).integers(0, 3, shape, dtype=np.uint8)
    coords = {
        d: (d, 0.4 * np.arange(n), {"units": "um"}) for d, n in zip("zyx", shape, strict=True)
    }
    attrs = tree["electrode"].to_dataset().phase.attrs
    ds = xr.Dataset({"phase": (("z", "y", "x"), phase, attrs)}, coords=coords).chunk(chunk)
    big = xr.DataTree.from_dict({"/": xr.Dataset(attrs=tree.attrs), "/electrode": ds})
    big.attrs["fusion"]["provenance"]["activities"]["generate-example"]["generated"] = [
        "/electrode/phase"
    ]
    write(big, path, overwrite=True)
    return sum(1 for f in path.rglob("*") if f.is_file() and not f.name.endswith(".json"))


def listing_rows(stores: dict[str, Path], repeat: int) -> list[tuple[str, str]]:
    """Median ``validate --level metadata`` without (before #25) and with the presence check."""
    rows = []
    for name, store in stores.items():
        chunks = sum(1 for f in store.rglob("*") if f.is_file() and not f.name.endswith(".json"))
        with mock.patch.object(_validate, "check_listed", lambda *a: None):
            before = [timed(lambda s=store: validate(s)) for _ in range(repeat)]
        after = [timed(lambda s=store: validate(s)) for _ in range(repeat)]
        rows.append(
            (
                f"validate --level metadata, {name} ({chunks} chunks), without / with listing",
                f"{statistics.median(before) * 1e3:.1f} ms / {statistics.median(after) * 1e3:.1f} ms",
            )
        )
    return rows


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=800, help="x and y size; z is half")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="where to build the store (temp)")
    parser.add_argument("--listing-only", action="store_true", help="only the listing check")
    parser.add_argument("--store", type=Path, action="append", default=[], help="also time this")
    args = parser.parse_args()
    if args.listing_only:
        with tempfile.TemporaryDirectory(prefix="fusion-bench-") as tmp:
            small, many = Path(tmp) / "small.zarr", Path(tmp) / "many.zarr"
            write(make_example(size="tiny"), small)
            build_many_chunks(many)
            stores = {"tiny example": small, "256x256x128 in 16^3 chunks": many}
            stores.update({str(path): path for path in args.store})
            print_table(listing_rows(stores, max(args.repeat, 5)))
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="fusion-bench-"))
    store = work / "bench.zarr"
    small = work / "small.zarr"
    try:
        nbytes = build_store(store, args.edge)
        write(make_example(size="tiny"), small, overwrite=True)
        on_disk = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())

        meta_big = [timed(lambda: validate(store, level="metadata")) for _ in range(5)]
        meta_small = [timed(lambda: validate(small, level="metadata")) for _ in range(5)]

        older = work / "older.zarr"  # the same store without chunk manifests
        shutil.copytree(store, older)
        for manifest in older.rglob(MANIFEST_NAME):
            manifest.unlink()

        ours, bare, unhashed = [], [], []
        for _ in range(args.repeat):
            bare.append(timed(lambda: xr.open_zarr(store, group="electrode").load()))
            report = None

            def run_data(target: Path = store) -> None:
                nonlocal report
                report = validate(target, level="data")

            ours.append(timed(run_data))
            assert report is not None and report.ok, str(report)
            unhashed.append(timed(lambda: run_data(older)))
        t_ours, t_bare = statistics.median(ours), statistics.median(bare)
        t_older = statistics.median(unhashed)
        mb = nbytes / 2**20
        rows = [
            (
                "store (uncompressed / on disk)",
                f"{nbytes / 2**30:.2f} GiB / {on_disk / 2**30:.2f} GiB",
            ),
            (
                "validate --level metadata, this store",
                f"{statistics.median(meta_big) * 1e3:.1f} ms",
            ),
            (
                "validate --level metadata, tiny store",
                f"{statistics.median(meta_small) * 1e3:.1f} ms",
            ),
            ("bare xr.open_zarr(...).load()", f"{t_bare:.2f} s ({mb / t_bare:.0f} MiB/s)"),
            ("validate --level data", f"{t_ours:.2f} s ({mb / t_ours:.0f} MiB/s)"),
            ("data-level throughput / bare read", f"{t_bare / t_ours:.2f}"),
            (
                "validate --level data, no manifests (no hashing)",
                f"{t_older:.2f} s ({mb / t_older:.0f} MiB/s)",
            ),
            ("time with manifests / without", f"{t_ours / t_older:.2f}"),
        ]
        print_table(rows)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[tuple[str, str]]) -> None:
    """A two-column markdown table of (measure, value) rows."""
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
