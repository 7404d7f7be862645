"""Push speed: `fusion.schema.push` (copy, read back, compare SHA-256, manifests, marker) against
a bare copy that verifies nothing, to a local folder and to an S3 API server on 127.0.0.1 (moto).

Usage (from the repository root)::

    uv run python benchmarks/bench_push.py --edge 200 --repeat 3

Prints a table; the numbers in docs/benchmarks.md come from this script. Timings are medians of
``--repeat`` runs, ours and the reference interleaved. moto is a Python server, so the S3
figures say what verification costs relative to a plain upload, not what S3 itself sustains.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_validate import build_store, print_table

from fusion.schema import push, validate


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def start_moto() -> tuple[object, dict[str, str]]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "bench", "secret": "bench"}
    reset = urllib.request.Request(f"{options['endpoint_url']}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    return server, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=200, help="x and y size; z is half")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import s3fs

    work = Path(tempfile.mkdtemp(prefix="fusion-bench-push-"))
    server, options = start_moto()
    try:
        store = work / "bench.zarr"
        build_store(store, args.edge)
        files = [p for p in store.rglob("*") if p.is_file()]
        on_disk = sum(p.stat().st_size for p in files)
        fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        fs.mkdir("bench")
        local_ours, local_bare, s3_ours, s3_bare = [], [], [], []
        for i in range(args.repeat):
            local_bare.append(timed(shutil.copytree, store, work / f"bare{i}.zarr"))
            local_ours.append(timed(push, store, work / f"ours{i}.zarr"))
            s3_bare.append(timed(fs.put, str(store), f"bench/bare{i}.zarr", recursive=True))
            url = f"s3://bench/ours{i}.zarr"
            s3_ours.append(timed(push, store, url, storage_options=options))
        remote_check = timed(validate, url, level="data", storage_options=options)
        mib = on_disk / 2**20
        rows = [
            ("store on disk", f"{mib:.1f} MiB in {len(files)} objects"),
        ]
        for name, ours, bare in (
            ("local folder", local_ours, local_bare),
            ("S3 (moto, 127.0.0.1)", s3_ours, s3_bare),
        ):
            t_ours, t_bare = statistics.median(ours), statistics.median(bare)
            rows += [
                (f"bare copy, {name}", f"{t_bare:.2f} s ({mib / t_bare:.0f} MiB/s)"),
                (f"push, {name}", f"{t_ours:.2f} s ({mib / t_ours:.0f} MiB/s)"),
                (f"push / bare copy, {name}", f"{t_ours / t_bare:.2f}"),
            ]
        rows.append(("validate --level data of the S3 copy", f"{remote_check:.2f} s"))
        print_table(rows)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
