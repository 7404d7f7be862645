"""Super-resolution speed and memory: `fusion superres` against PyTorch eager, tile for tile,
and the whole real 128³ low-res XCT to 1024³ streamed into Zarr.

Run from the repository root: ``uv run python benchmarks/bench_superres.py`` (PyTorch eager
runs in ``.venv-train``, models/superres-nmc/README.md; it loads the checkpoint the registered
export was made from, named in ``models/superres-nmc/<version>/export.json`` and looked for in
``models/superres-nmc/checkpoints*/``).

1. Tile for tile: the first ``TILES`` windows of the 1024³ run's plan (32³ coarse cells with
   their context, 192³ fine voxels each), inputs as the runtime makes them (edge-padded
   indicator, counter-based noise). Ours: onnxruntime on the registered ONNX, the Softmax
   branch pruned, labels out. PyTorch eager: the training generator on the same weights,
   ``forward`` then ArgMax, ``torch.no_grad``, after one untimed warm-up tile. Both 2
   threads; they alternate (ours, torch, ours, torch) and the best of each is kept; labels
   are compared.
2. Tiles against one pass: a 32³-cell region (256³ voxels) made in one pass and in 64 tiles
   of 8³ cells; the share of voxels that differ (float rounding near ties, nothing else).
3. Streamed, in a fresh process: `fusion.models.superres` of the whole 128³ into a Zarr folder
   (1024³ fine voxels), wall time and peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRAIN_PYTHON = ROOT / ".venv-train" / "bin" / "python"
LOWRES = ROOT.parent / "shared" / "data" / "micrographs" / "nmc_lowres_3d_2phase_128cube.tif"
MODEL = "model:superres-nmc"
TILES = 4
ROUNDS = 2

TORCH_CHILD = r"""
import json, sys, time
import numpy as np, torch
from fusion.training.superres.train import load_generator
torch.set_num_threads(2)
G, _ = load_generator(sys.argv[1])
data = np.load(sys.argv[2])
times, labels = [], []
with torch.no_grad():
    G(torch.cat([torch.from_numpy(data["lowres0"]), torch.from_numpy(data["noise0"])], 1))  # warm-up
    for i in range(len(data.files) // 2):
        x = torch.cat([torch.from_numpy(data[f"lowres{i}"]), torch.from_numpy(data[f"noise{i}"])], 1)
        t = time.perf_counter()
        out = torch.argmax(G(x), 1).to(torch.uint8)
        times.append(time.perf_counter() - t)
        labels.append(out.numpy())
np.savez(sys.argv[3], *labels)
print(json.dumps(times))
"""

STREAMED = r"""
import json, sys, time
t = time.perf_counter()
from fusion.models import superres
from fusion.schema import write
tree = superres(sys.argv[1], sys.argv[2], device="cpu")
write(tree, sys.argv[3])
wall = time.perf_counter() - t
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"wall_s": wall, "peak_rss_mib": rss / 1024}))
"""


def dataset(folder: Path) -> Path:
    out = folder / "lowres.zarr"
    subprocess.run(
        [sys.executable, "-m", "fusion.cli", "load", "xct", str(LOWRES), "--voxel-size", "0.68",
         "--labels", "0=rest", "128=NMC", "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def tile_inputs(source: Path, card) -> list[dict]:
    """The first TILES windows of the streamed run (seed 0): the edge-padded indicator and
    the counter-based noise, as `fusion.models.superres` feeds them."""
    import xarray as xr

    from fusion.models import SeededLatent
    from fusion.models._tiles import latent_windows

    labels = xr.open_datatree(source, engine="zarr")["volume"].phase.values
    padded = np.pad((labels == 128).astype(np.float32), 4, mode="edge")
    noise = SeededLatent(card.latent, (1, 8, *padded.shape), 0)
    windows = latent_windows(padded.shape[0], 32, 8)
    feeds = []
    for i in range(TILES):
        spans = [windows[0], windows[i // 2 % len(windows)], windows[i % 2]]
        window = padded[tuple(slice(a, e) for a, e in spans)][None, None]
        feeds.append({"lowres": window, "noise": noise.window(spans)})
    return feeds


def one_pass_against_tiles(source: Path) -> float:
    import xarray as xr

    from fusion.models import superres

    tree = xr.open_datatree(source, engine="zarr", chunks={})
    region = [(40, 72), (40, 72), (40, 72)]
    whole = superres(tree, MODEL, region=region, tile=64)["volume_x8"].phase.values
    tiled = superres(tree, MODEL, region=region, tile=8)["volume_x8"].phase.values
    return float(np.mean(whole != tiled))


def main() -> None:
    import argparse

    from fusion.models import open_model, resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", help="another registry (default: the checkout's)")
    parser.add_argument("--checkpoint", type=Path, help="the export's checkpoint (default: "
                        "models/superres-nmc/checkpoints*/<export.json's checkpoint>)")  # fmt: skip
    args = parser.parse_args()
    if args.registry:
        os.environ["FUSION_REGISTRY"] = args.registry
    model = resolve_model(MODEL)
    checkpoint = args.checkpoint
    if checkpoint is None:
        version = model.ref.split("@")[1]
        export = ROOT / "models" / "superres-nmc" / version / "export.json"
        name = json.loads(export.read_text())["checkpoint"]
        found = sorted((ROOT / "models" / "superres-nmc").glob(f"checkpoints*/{name}"))
        checkpoint = found[-1] if found else ROOT / "models" / "superres-nmc" / "checkpoints" / name
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = dataset(folder)
        feeds = tile_inputs(source, model.card)
        session = open_model(model, "cpu").file
        from dataclasses import replace

        ours = replace(session, outputs=("labels",)).session().session
        np.savez(folder / "tiles.npz", **{f"{k}{i}": f[k] for i, f in enumerate(feeds) for k in f})
        ours_times, torch_times = [], []
        for _ in range(ROUNDS):
            times = []
            for f in feeds:
                t = time.perf_counter()
                ours.run(["labels"], f)
                times.append(time.perf_counter() - t)
            ours_times.append(sum(times))
            if checkpoint.exists() and TRAIN_PYTHON.exists():
                child = subprocess.run(
                    [str(TRAIN_PYTHON), "-c", TORCH_CHILD, str(checkpoint), str(folder / "tiles.npz"),
                     str(folder / "torch.npz")],
                    check=True, capture_output=True, text=True, cwd=ROOT,
                )  # fmt: skip
                torch_times.append(sum(json.loads(child.stdout.strip().splitlines()[-1])))
        mismatch = None
        if torch_times:
            theirs = np.load(folder / "torch.npz")
            got = [ours.run(["labels"], f)[0] for f in feeds]
            mismatch = float(np.mean([np.mean(g != theirs[f"arr_{i}"]) for i, g in enumerate(got)]))
        voxels = TILES * 192**3
        print(
            "| tiles | ours (s) | ours Mvoxel/s | PyTorch eager (s) | PyTorch Mvoxel/s | ours / PyTorch | labels differing |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        o = min(ours_times)
        if torch_times:
            p = min(torch_times)
            print(f"| {TILES} × 192³ | {o:.2f} | {voxels / o / 1e6:.2f} | {p:.2f} | "
                  f"{voxels / p / 1e6:.2f} | **{p / o:.2f}×** | {mismatch:.2e} |")  # fmt: skip
        else:
            print(
                f"| {TILES} × 192³ | {o:.2f} | {voxels / o / 1e6:.2f} | (no checkpoint {checkpoint.name}) | | | |"
            )
        tiling = one_pass_against_tiles(source)
        print(f"\none pass against 64 tiles (256³ voxels): {tiling:.2e} of the voxels differ")
        run = subprocess.run(
            [sys.executable, "-c", STREAMED, str(source), MODEL, str(folder / "fine.zarr")],
            check=True, capture_output=True, text=True, env={**os.environ},
        )  # fmt: skip
        streamed = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"\n1024³ streamed into Zarr: {streamed['wall_s']:.1f} s, "
              f"{1024**3 / streamed['wall_s'] / 1e6:.2f} Mvoxel/s, peak RSS "
              f"{streamed['peak_rss_mib']:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
