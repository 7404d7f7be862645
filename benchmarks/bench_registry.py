"""Pull speed: a cold pull over HTTP against a bare fsspec read, and the warm path.

Usage (from the repository root)::

    uv run python benchmarks/bench_registry.py               # 128 MiB artifact
    uv run python benchmarks/bench_registry.py --mib 512 --repeat 3

A file of random bytes is served by ``http.server`` on 127.0.0.1 (a subprocess, as in the
tests). Compared, interleaved in one process: a cold ``pull`` (stream + SHA-256 + rename into
an empty cache) against a bare ``fsspec`` streamed read of the same URL into a file (no
hashing); then a warm ``pull`` (a stat and a stamp) against re-hashing the blob (what pooch
does on every fetch), and a warm ``fusion-pull`` process against ``python -c pass``. Medians of
``--repeat`` runs; no wall time is asserted anywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fsspec
import numpy as np
import yaml

from fusion.registry import Cache, hash_file, pull

SERVER = Path(__file__).resolve().parents[1] / "packages" / "registry" / "tests" / "http_server.py"


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=128, help="artifact size in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        served = root / "served"
        served.mkdir()
        data = np.random.default_rng(0).bytes(args.mib << 20)
        (served / "a.bin").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        del data
        server = subprocess.Popen(
            [sys.executable, str(SERVER), str(served), str(root / "log")],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{int(server.stdout.readline())}/a.bin"
            registry = root / "registry.yaml"
            entry = {"url": url, "sha256": digest, "size": args.mib << 20}
            entry["card"] = {"description": "bench", "format": "fusion/0.1", "license": "CC0-1.0"}
            doc = {
                "registry": "fusion-registry/1",
                "datasets": {"a": {"versions": {"1.0.0": entry}}},
            }
            registry.write_text(yaml.safe_dump(doc))
            run(args, root, registry, url)
        finally:
            server.terminate()
            server.wait()


def run(args: argparse.Namespace, root: Path, registry: Path, url: str) -> None:
    cold, bare = [], []
    for i in range(args.repeat):
        cache = root / f"cache{i}"
        cold.append(timed(lambda c=cache: pull("dataset:a", registry=registry, cache=Cache(c))))
        if i < args.repeat - 1:
            shutil.rmtree(cache)

        def bare_read() -> None:
            with fsspec.open(url, "rb", block_size=0) as src, open(root / "bare", "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)

        bare.append(timed(bare_read))
    cache = Cache(root / f"cache{args.repeat - 1}")
    blob = pull("dataset:a", registry=registry, cache=cache)
    warm = [timed(lambda: pull("dataset:a", registry=registry, cache=cache)) for _ in range(20)]
    rehash = [timed(lambda: hash_file(blob)) for _ in range(args.repeat)]
    command = [
        sys.executable,
        "-m",
        "fusion.registry",
        "dataset:a",
        "--registry",
        str(registry),
        "--cache",
        str(cache.root),
    ]
    cli = [
        timed(lambda: subprocess.run(command, check=True, capture_output=True)) for _ in range(5)
    ]
    python = [
        timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(5)
    ]
    mib = args.mib
    med = statistics.median
    print(f"| artifact | {mib} MiB over HTTP on 127.0.0.1 | |")
    print(
        f"| cold `pull` (stream + sha256 + rename) | {med(cold):.2f} s ({mib / med(cold):.0f} MiB/s) | |"
    )
    print(
        f"| bare fsspec streamed read to a file | {med(bare):.2f} s ({mib / med(bare):.0f} MiB/s) | reference |"
    )
    print(f"| cold pull time / bare read time | **{med(cold) / med(bare):.2f}** | |")
    print(f"| warm `pull` in-process | {med(warm) * 1e3:.2f} ms | |")
    print(f"| re-hashing the blob (pooch's warm path) | {med(rehash):.2f} s | reference |")
    print(f"| warm `fusion-pull` process | {med(cli):.2f} s | |")
    print(f"| `python -c pass` | {med(python):.3f} s | reference |")


if __name__ == "__main__":
    main()
