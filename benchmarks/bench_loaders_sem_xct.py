"""SEM and XCT loaders: time against the bare reader call, and memory while streaming a stack.

Usage (from the repository root)::

    uv run python benchmarks/bench_loaders_sem_xct.py                # ~2 GiB stack in a temp folder
    uv run python benchmarks/bench_loaders_sem_xct.py --slices 32    # quicker, smaller stack

1. Every real SEM and XCT file in ../shared/data/instruments: the loader (``load`` and reading
   every pixel of every channel) against the bare reader call that reads the same pixels and
   metadata (tifffile, h5py, olefile), medians of ``--repeat`` interleaved runs. The loader
   hashes every file (sha256) for provenance (`fusion.loaders._provenance.Digest`: inputs
   under 16 MiB on the caller's thread, from the bytes the reader then parses where it takes
   a file object; larger ones in background threads while the reader works), so the hash is
   not subtracted: the table gives the ratio with the hash, and, from separate runs with the
   loaders' ``hash_file`` / ``hash_bytes`` patched out (benchmark only), the ratio
   without it. Hashing alone has its own column: where it takes more than 0.2 x the bare call,
   1.2 x is out of reach on one core whatever the loader does. The last column repeats both
   ratios in CPU time of the process (all its threads), steadier than wall time on a shared
   machine.
2. A generated stack of ``--slices`` TIFF slices of ``--edge`` x ``--edge`` uint16 (256 x 2048 x
   2048 = 2 GiB by default), in a temp folder deleted afterwards: the same timing against
   ``tifffile.imread`` of all slices (reading the pixels once through ``.values``, where dask
   assembles the blocks into a second array, and once with ``dask.array.store`` into one
   preallocated array, which reads each block into place as the bare call does), and into
   Zarr as users do it (``fusion load`` + ``fusion.schema.write`` against ``tifffile.imread``
   + xarray ``to_zarr`` with the same chunks); then, each in a child process, the stack (and a
   quarter of it) streamed through the loader and ``fusion.schema.write`` into Zarr, and for
   contrast the
   bare ``tifffile.imread`` of the whole stack: peak resident memory (``VmHWM`` of
   /proc/self/status; ``ru_maxrss`` is not used because Linux carries it over from the parent
   across fork and exec), the resident memory right after imports, and the peak traced by
   ``tracemalloc``. Bounded memory means the streaming peak stays a few chunks above the
   baseline and does not grow with the stack.

Loader reads in the timing table run with dask's synchronous scheduler, single-threaded like
the bare reader call (on a busy 2-core machine the threaded scheduler only adds contention);
the streaming runs use dask's default (threaded) scheduler, as ``fusion load`` does.

Prints markdown tables. No wall time is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import dask
import dask.array as da
import h5py
import numpy as np
import olefile
import tifffile
import xarray as xr

import fusion.loaders._build as build
import fusion.loaders._provenance as provenance
from fusion.base import hash_file
from fusion.loaders import load
from fusion.loaders.xct import slice_files
from fusion.schema import write

SHARED = Path(
    os.environ.get("FUSION_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
INSTRUMENTS = SHARED / "instruments"
MiB = 2**20


# -- 1. loader against the bare reader ------------------------------------------------------------


def bare_tiff_sem(path: Path) -> None:
    with tifffile.TiffFile(path) as tif:
        _ = tif.fei_metadata or [page.tags[34118].value for page in tif.pages]
        _ = [page.asarray() for page in tif.pages]


def bare_tiff_slices(path: Path) -> None:
    tifffile.imread(slice_files(path))


def bare_h5py(path: Path) -> None:
    with h5py.File(path, "r") as h5:
        for key in ("data", "data_white", "data_dark", "theta"):
            h5["exchange"][key][()]


def bare_olefile(path: Path) -> None:
    with olefile.OleFileIO(str(path)) as ole:
        for stream in ("ImageInfo/PixelSize", "ImageInfo/Angles", "ImageInfo/Energy"):
            np.frombuffer(ole.openstream(stream).read(), "<f4")
        for stream in ("ImageData1/Image1", "ReferenceData/Image"):
            np.frombuffer(ole.openstream(stream).read(), "<u2").reshape(512, 512)


def load_and_read(kind: str, **options: object) -> Callable[[Path], None]:
    """``load`` and then every pixel of every channel, as the bare reader call reads them."""

    def run(path: Path) -> None:
        with dask.config.set(scheduler="synchronous"):
            for node in load(kind, path, **options).subtree:
                for var in node.to_dataset(inherit=False).data_vars.values():
                    var.values  # noqa: B018

    return run


def without_hash(function: Callable[[Path], None]) -> Callable[[Path], None]:
    """``function`` with the loaders' sha256 patched out (a constant digest): benchmark only."""

    def run(path: Path) -> None:
        real = provenance.hash_file, provenance.hash_bytes
        provenance.hash_file = provenance.hash_bytes = lambda _: "0" * 64
        try:
            function(path)
        finally:
            provenance.hash_file, provenance.hash_bytes = real

    return run


CASES = [
    ("sem/FEI-Helios-Ebeam-16bits.tif", "sem", {}, bare_tiff_sem, "tifffile"),
    ("sem/test_tiff_Zeiss_SEM_1k.tif", "sem", {}, bare_tiff_sem, "tifffile"),
    ("sem/ZEISS_SEM_multipage.tif", "sem", {}, bare_tiff_sem, "tifffile"),
    ("xct/cylindrical_cell_slices", "xct", {"voxel_size_um": 33.97}, bare_tiff_slices, "tifffile"),
    ("xct/tooth.h5", "xct", {"voxel_size_um": 1.0}, bare_h5py, "h5py"),
    ("xct/test_chip00.xrm", "xct", {}, bare_olefile, "olefile"),
]
HEADER = [
    "| file | reader | bare (ms) | loader (ms) | **loader / bare** | sha256 patched out (ms) "
    "| ratio without sha256 | sha256 alone (ms) | xarray objects alone (ms) "
    "| metadata JSON alone (ms) | floor: (bare + sha256 + objects + JSON) / bare "
    "| **loader / floor** | CPU time: loader / bare, with / without sha256 |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def floor_parts(kind: str, options: dict, path: Path) -> dict[str, Callable[[Path], None]]:
    """Two parts of a load that no loader can skip, timed alone on the loaded tree.

    ``objects``: building the tree's xarray objects again from its own variables, the cheap way
    the loaders do (`fusion.loaders._build`; no pixel is read). ``json``: writing its original
    metadata again from plain values (each distinct document once; numpy values and the like
    already converted, so a lower bound). Together with the bare call and the hash they make a
    floor for the loader's time on one core.
    """
    tree = load(kind, path, **options)
    groups, documents = [], {}
    for name, node in tree.children.items():
        ds = node.to_dataset(inherit=False)
        channels = {k: (v.dims, v.data, dict(v.attrs)) for k, v in ds.data_vars.variables.items()}
        coords = {k: (v.dims, v.values, dict(v.attrs)) for k, v in ds.coords.variables.items()}
        groups.append((name, channels, coords, dict(ds.attrs)))
        for var in ds.data_vars.variables.values():
            text = var.attrs.get("original_metadata")
            if text is not None:
                documents[text] = json.loads(text)
    root = dict(tree.attrs)

    def objects(_: Path) -> None:
        made = {}
        for name, channels, coords, attrs in groups:
            variables = {k: xr.Variable(*args) for k, args in channels.items()}
            made[name] = build.dataset(
                variables, {k: xr.Variable(*args) for k, args in coords.items()}, attrs
            )
        build.tree(root, made)

    def metadata_json(_: Path) -> None:
        for document in documents.values():
            json.dumps(document, ensure_ascii=False, sort_keys=True)

    return {"objects": objects, "json": metadata_json}


def sha256_of_input(path: Path) -> None:
    for file in slice_files(path) if path.is_dir() else [path]:
        hash_file(file)


def seconds(function: Callable[[Path], None], path: Path) -> tuple[float, float]:
    """Wall and CPU seconds (``process_time``: every thread of the process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(path)
    return time.perf_counter() - wall, time.process_time() - cpu


def load_and_store(kind: str, **options: object) -> Callable[[Path], None]:
    """``load`` and then every pixel, each dask channel stored block by block into one numpy
    array allocated first (``dask.array.store``), as ``tifffile.imread(files)`` reads into one
    output: no assembly of the blocks into a second copy, as ``.values`` of a dask array does."""

    def run(path: Path) -> None:
        for node in load(kind, path, **options).subtree:
            for var in node.to_dataset(inherit=False).data_vars.values():
                out = np.empty(var.shape, var.dtype)
                if var.chunks is None:
                    out[...] = var.values
                else:
                    da.store(var.data, out, lock=False, scheduler="synchronous")

    return run


def time_row(
    name: str,
    kind: str,
    options: dict,
    bare: Callable[[Path], object],
    reader: str,
    path: Path,
    repeat: int,
    read: Callable[..., Callable[[Path], None]] = load_and_read,
) -> str:
    """Medians of interleaved runs (so that all share the machine's state), as a table row.

    The loader runs include reading every pixel (see ``read``); ``load`` alone is not timed.
    """
    runs = {
        "bare": bare,
        "read": read(kind, **options),
        "nohash": without_hash(read(kind, **options)),
        "sha": sha256_of_input,
        **floor_parts(kind, options, path),
    }
    for function in runs.values():  # warm the page cache and imports
        function(path)
    wall: dict[str, list[float]] = {key: [] for key in runs}
    cpu: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeat):
        for key, function in runs.items():
            w, c = seconds(function, path)
            wall[key].append(w)
            cpu[key].append(c)
    ms = {key: statistics.median(values) * 1e3 for key, values in wall.items()}
    cp = {key: statistics.median(values) for key, values in cpu.items()}
    floor = (ms["bare"] + ms["sha"] + ms["objects"] + ms["json"]) / ms["bare"]
    return (
        f"| {name} | {reader} | {ms['bare']:.2f} | {ms['read']:.2f} "
        f"| **{ms['read'] / ms['bare']:.2f}** | {ms['nohash']:.2f} "
        f"| {ms['nohash'] / ms['bare']:.2f} | {ms['sha']:.2f} | {ms['objects']:.2f} "
        f"| {ms['json']:.2f} | {floor:.2f} | **{ms['read'] / ms['bare'] / floor:.2f}** "
        f"| {cp['read'] / cp['bare']:.2f} / {cp['nohash'] / cp['bare']:.2f} |"
    )


def time_loaders(repeat: int) -> list[str]:
    return [time_row(*case, INSTRUMENTS / case[0], repeat) for case in CASES]


# -- 2. a generated stack: time against tifffile, memory while streaming into Zarr ---------------


def write_stack(folder: Path, slices: int, edge: int) -> int:
    """``slices`` TIFF files of edge x edge uint16 (12-bit noise over a gradient); bytes written."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 2000, edge, dtype=np.float32)[None, :] + np.zeros((edge, 1), np.float32)
    for index in range(slices):
        image = (ramp + rng.integers(0, 2048, (edge, edge), dtype=np.uint16)).astype(np.uint16)
        tifffile.imwrite(folder / f"slice{index:04d}.tif", image)
    return slices * edge * edge * 2


def link_subset(folder: Path, subset: Path, count: int) -> None:
    """A folder of symbolic links to the first ``count`` slices of ``folder``."""
    subset.mkdir()
    for file in slice_files(folder)[:count]:
        (subset / file.name).symlink_to(file)


def resident_bytes(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc/self/status (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (the memory part needs Linux)")


def child(mode: str, folder: Path, out: Path) -> None:
    """Run in a child process; print peak memory (and times) as JSON.

    ``stream``: load the folder lazily and write it to ``out`` with `fusion.schema.write`.
    ``bare``: ``tifffile.imread`` of all slices into one numpy array (for contrast).
    """
    baseline = resident_bytes("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    if mode == "stream":
        tree = load("xct", folder, voxel_size_um=1.0)
        write(tree, out)
        chunk = tree["volume"].grayscale.data.chunksize
    else:
        chunk = tifffile.imread(slice_files(folder)).shape
    seconds_taken = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    peak = resident_bytes("VmHWM")
    result = {"baseline": baseline, "peak": peak, "traced": traced_peak, "seconds": seconds_taken}
    print(json.dumps({**result, "chunk_bytes": int(np.prod(chunk)) * 2}))


def run_child(mode: str, folder: Path, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


ZARR_HEADER = [
    "| stack into Zarr | bare: tifffile.imread + xarray to_zarr (s) | fusion load + write (s) "
    "| **ratio** | sha256 patched out (s) | ratio without sha256 |",
    "|---|---:|---:|---:|---:|---:|",
]


def zarr_row(name: str, folder: Path, out: Path, repeat: int) -> str:
    """The stack into Zarr, as users do it: ``fusion load`` + ``fusion.schema.write`` against
    ``tifffile.imread`` of all slices + plain xarray ``to_zarr`` of the array with the same
    chunks and Zarr's default codecs (format 3). Medians of interleaved runs; the output is
    deleted after each run. The bare path holds the whole stack in memory; ours a few blocks.
    """
    chunks = load("xct", folder, voxel_size_um=1.0)["volume"].grayscale.data.chunksize

    def bare(path: Path) -> None:
        stack = tifffile.imread(slice_files(path))
        ds = xr.Dataset({"grayscale": (("z", "y", "x"), stack)})
        ds.to_zarr(out, mode="w", encoding={"grayscale": {"chunks": chunks}}, zarr_format=3,
                   consolidated=False)  # fmt: skip

    def ours(path: Path) -> None:
        write(load("xct", path, voxel_size_um=1.0), out, overwrite=True)

    runs = {"bare": bare, "ours": ours, "nohash": without_hash(ours)}
    wall: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeat):
        for key, function in runs.items():
            wall[key].append(seconds(function, folder)[0])
            shutil.rmtree(out, ignore_errors=True)
    t = {key: statistics.median(values) for key, values in wall.items()}
    return (
        f"| {name} | {t['bare']:.2f} | {t['ours']:.2f} | **{t['ours'] / t['bare']:.2f}** "
        f"| {t['nohash']:.2f} | {t['nohash'] / t['bare']:.2f} |"
    )


def stack_rows(slices: int, edge: int, repeat: int) -> tuple[list[str], list[str]]:
    """Timing row and memory table for a generated stack, written to and deleted from a temp folder."""
    with tempfile.TemporaryDirectory(prefix="bench-xct-") as tmp:
        full, quarter = Path(tmp) / "full", Path(tmp) / "quarter"
        size = write_stack(full, slices, edge)
        link_subset(full, quarter, max(1, slices // 4))
        name = f"generated ({slices}, {edge}, {edge}) uint16, {size / MiB:.0f} MiB"
        options = {"voxel_size_um": 1.0}
        timing = [
            time_row(name, "xct", options, bare_tiff_slices, "tifffile", full, repeat),
            time_row(
                f"{name}, read with dask.array.store into one preallocated array",
                *("xct", options, bare_tiff_slices, "tifffile", full, repeat, load_and_store),
            ),
        ]
        timing += ["", *ZARR_HEADER, zarr_row(name, full, Path(tmp) / "timed.zarr", repeat)]
        memory = [
            "| run | stack (z, y, x) uint16 | chunk | peak RSS | RSS after imports "
            "| tracemalloc peak | time (s) |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for mode, folder, count in (
            ("stream", quarter, max(1, slices // 4)),
            ("stream", full, slices),
            ("bare", full, slices),
        ):
            r = run_child(mode, folder, Path(tmp) / "out.zarr")
            shutil.rmtree(Path(tmp) / "out.zarr", ignore_errors=True)
            what = "load + write to Zarr" if mode == "stream" else "bare tifffile.imread (contrast)"
            memory.append(
                f"| {what} | ({count}, {edge}, {edge}) | {r['chunk_bytes'] / MiB:.0f} MiB "
                f"| {r['peak'] / MiB:.0f} MiB | {r['baseline'] / MiB:.0f} MiB "
                f"| {r['traced'] / MiB:.0f} MiB | {r['seconds']:.1f} |"
            )
    return timing, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per real file (median)")
    parser.add_argument("--repeat-stack", type=int, default=3, help="runs on the generated stack")
    parser.add_argument(
        "--slices", type=int, default=256, help="slices of the generated stack (0: none)"
    )
    parser.add_argument("--edge", type=int, default=2048, help="slice edge in pixels")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    timing = time_loaders(args.repeat)
    if not args.slices:  # real files only
        print("\n".join(HEADER + timing))
        return
    stack_timing, memory = stack_rows(args.slices, args.edge, args.repeat_stack)
    print("\n".join(HEADER + timing + stack_timing))
    print()
    print("\n".join(memory))


if __name__ == "__main__":
    main()
