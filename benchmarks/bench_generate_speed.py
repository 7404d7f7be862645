"""Generation speed on the CPU: ours (onnxruntime, shaped graph) against PyTorch eager, the
fraction of the machine's sgemm rate it reaches, and a streamed big volume's memory.

Usage (from the repository root; needs the training venv for torch and the exporter)::

    uv run python benchmarks/bench_generate_speed.py                  # 128³ 256³ 512³, 1024³ streamed
    uv run python benchmarks/bench_generate_speed.py --sizes 128 --streamed 256   # quick

What it does, all in one run so that the ratios share the machine's state:

1. Exports slicegan-nmc with ``models/slicegan-nmc/export.py`` (the latest checkpoint, or a
   random generator with ``--weights random`` or when there is none) into a temporary folder
   and registers it in a temporary registry with a card that lists both outputs.
2. Starts a PyTorch worker (``.venv-train``) holding the *same* generator in ``eval()`` mode.
3. For each size, interleaved (ours, torch, ours, …): ours is ``fusion.models.generate`` end to
   end (pull from the cache, prune to ``labels``, open the session, draw the latent, default
   tiles, wrap) with the phase array materialised in memory; PyTorch is
   ``G(z).argmax(1).to(uint8)`` under ``inference_mode`` with as many threads as cores.
4. Measures sgemm (float32 ``A @ B``, n = 4096, best of 5) with numpy, ``torch.mm`` and
   onnxruntime's MatMul, at the start and at the end; the rate used is the best of the six.
5. In fresh subprocesses (peak RSS = VmHWM of that process): a streamed generation of
   ``--streamed``³ written to Zarr with ``fusion.schema.write`` (default tiles), and 256³ in
   memory in one pass and with the default tiles (best of ``--memory-reps`` each);
   throughput ratio streamed / in-memory.
6. The fraction of sgemm is given against the best sgemm of the run (conservative: a moment
   when the shared cores were quiet) and against onnxruntime's sgemm measured just before
   and after that size (the same contention as the generation itself).

FLOPs per voxel: a transposed convolution layer n with c_in → c_out channels, kernel k = 4 and
stride s = 2 does c_in·c_out·k³ multiply-adds per *input* cell, and its input grid has
1/8^(L−n+1) as many cells as the output volume (L = 5 layers), so
FLOPs/voxel = 2·Σ_n c_(n−1)·c_n·64 / 8^(L−n+1) = 2·(8 + 512 + 1024 + 2048 + 768) = 8,720 for
widths 16→256→128→64→32→3 (the large-volume limit: tile overlap, the softmax or argmax and the
BatchNorm/ReLU are not counted; the sub-pixel graph does exactly these products).

Prints the machine, what else was running (top processes by CPU, load average) before and
after, and markdown tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from fusion.training.slicegan import runtime_graph

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "models" / "slicegan-nmc"
TRAIN_PYTHON = ROOT / ".venv-train" / "bin" / "python"
WIDTHS = (16, 256, 128, 64, 32, 3)

TORCH_WORKER = r"""
import json, sys, time
import torch
from fusion.training.slicegan import export
torch.set_num_threads(int(sys.argv[2]))
if sys.argv[1] == "random":
    G = export.random_generator(0)
else:
    G = export.load_generator(None if sys.argv[1] == "latest" else export.Path(sys.argv[1]))[0]
G.eval()
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    if job["op"] == "generate":
        z = torch.randn(1, G.config.nz, *job["latent"], generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        with torch.inference_mode():
            labels = G(z).argmax(1).to(torch.uint8)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "shape": list(labels.shape)}), flush=True)
        del labels
    elif job["op"] == "sgemm":
        n = job["n"]
        a, b = torch.rand(n, n), torch.rand(n, n)
        torch.mm(a, b)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            torch.mm(a, b)
            times.append(time.perf_counter() - start)
        best = min(times)
        print(json.dumps({"gflops": 2 * n**3 / best / 1e9}), flush=True)
"""

CHILD = r"""
import sys, time
import numpy as np
from fusion.models import generate
from fusion.schema import write
n, mode, out, registry = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
start = time.perf_counter()
if mode == "streamed":
    tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry)
    write(tree, out)
elif mode == "tiled":
    tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry)
    np.asarray(tree["generated"].phase.values)
else:
    tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry, tile=None)
    np.asarray(tree["generated"].phase.values)
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(seconds, peak / 1024)
"""


def flops_per_voxel() -> float:
    return 2 * runtime_graph.macs_per_voxel(WIDTHS)


def busy(exclude: set[int]) -> str:
    """Load average and the busiest other processes (what else was running)."""
    ps = subprocess.run(
        ["ps", "-eo", "pid,pcpu,rss,args", "--sort=-pcpu"], capture_output=True, text=True
    ).stdout.splitlines()[1:]
    rows = []
    for line in ps:
        pid, cpu, rss, args = line.split(None, 3)
        if int(pid) in exclude or float(cpu) < 5:
            continue
        rows.append(f"{cpu}% CPU, {int(rss) // 1024} MiB: {args[:110]}")
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"load average {' '.join(load)}; " + (" | ".join(rows[:6]) or "nothing else busy")


def sgemm_numpy(n: int = 4096) -> float:
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * n**3 / best / 1e9


def sgemm_onnxruntime(n: int = 4096) -> float:
    """The same product through onnxruntime's MatMul (MLAS, the kernels our Conv uses)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from fusion.models._device import session_options

    info = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [n, n]) for k in "abc"]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "mm", info[:2], info[2:]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    session = ort.InferenceSession(model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])  # fmt: skip
    rng = np.random.default_rng(0)
    feeds = {k: rng.random((n, n), dtype=np.float32) for k in "ab"}
    session.run(None, feeds)
    best = min(_timed(lambda: session.run(None, feeds)) for _ in range(5))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def card(outputs: dict, npz: Path) -> dict:
    def axes(channel: dict | None) -> list[dict]:
        rule = {"tensor": "latent", "scale": 32, "offset": -64}
        space = [{"name": n, "type": "space", "size": dict(rule, axis=n)} for n in "zyx"]
        return [{"name": "b", "type": "batch"}, *([channel] if channel else []), *space]

    phases = {"name": "c", "type": "channel", "size": 3}
    described = {
        "labels": {"name": "labels", "description": "phase labels", "dtype": "uint8", "axes": axes(None)},
        "probabilities": {"name": "probabilities", "description": "phase probabilities",
                          "dtype": "float32", "axes": axes(phases)},
    }  # fmt: skip
    latent_space = [{"name": n, "type": "space", "size": {"min": 3, "step": 1}} for n in "zyx"]
    return {
        "description": "SliceGAN NMC generator (benchmark registration)",
        "task": "generate-3d",
        "inputs": [{"name": "latent", "description": "latent", "dtype": "float32",
                    "axes": [{"name": "b", "type": "batch"}, {"name": "c", "type": "channel", "size": 16},
                             *latent_space]}],
        "outputs": [described[name] for name in outputs],
        "latent": {"tensor": "latent", "distribution": "standard-normal"},
        "channels": [{"tensor": "probabilities", "name": "phase", "transform": "argmax", "dtype": "uint8",
                      "long_name": "phase label", "units": "1", "modality": "SEM",
                      "flag_values": [0, 1, 2], "flag_meanings": "pore NMC CBD", "voxel_size_um": 1.0}],
        "training_data": [{"uri": "file://nmc_sem_2d_3phase_628x758.tif", "description": "NMC SEM"}],
        "license": "MIT",
        "authors": [{"name": "bench"}],
        "citation": [{"text": "Kench & Cooper 2021"}],
        "test_tensors": {"url": npz.name, "sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
                         "size": npz.stat().st_size, "seed": 0},
    }  # fmt: skip


def register(onnx_path: Path, folder: Path) -> Path:
    from fusion.models._genonnx import output_names

    npz = onnx_path.with_name("test-tensors.npz")
    entry = {
        "url": "file:///" + str(onnx_path.resolve()).lstrip("/"),
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "size": onnx_path.stat().st_size,
        "card": card(output_names(onnx_path.read_bytes()), npz),
    }
    doc = {"registry": "fusion-registry/1", "models": {"bench": {"versions": {"0.1.0": entry}}},
           "datasets": {}}  # fmt: skip
    registry = folder / "registry.yaml"
    registry.write_text(yaml.safe_dump(doc))
    return registry


def ours(n: int, registry: Path) -> float:
    from fusion.models import generate

    start = time.perf_counter()
    tree = generate("model:bench", (n, n, n), seed=0, device="cpu", registry=registry)
    labels = np.asarray(tree["generated"].phase.values)
    seconds = time.perf_counter() - start
    assert labels.shape == (n, n, n)
    return seconds


class TorchWorker:
    def __init__(self, weights: str, threads: int):
        self.proc = subprocess.Popen(
            [str(TRAIN_PYTHON), "-c", TORCH_WORKER, weights, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
        )  # fmt: skip
        self.info = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker died (see its stderr above)")
        return json.loads(line)

    def ask(self, **job) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def child(n: int, mode: str, folder: Path, registry: Path) -> tuple[float, float]:
    out = folder / f"g{n}-{mode}.zarr"
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), mode, str(out), str(registry)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "FUSION_CACHE": str(folder / "cache")},
    )  # fmt: skip
    seconds, peak = run.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--reps", type=int, nargs="+", default=[3, 2, 2], help="per size")
    parser.add_argument("--streamed", type=int, default=1024, help="edge of the streamed volume")
    parser.add_argument("--weights", default="latest", help="latest, random, or a checkpoint")
    parser.add_argument("--memory-reps", type=int, default=3, help="runs of 256³ in memory")
    args = parser.parse_args()

    from fusion.models._device import cpu_cores

    cores = cpu_cores()
    weights = args.weights
    if weights == "latest" and not list((FOLDER / "checkpoints").glob("ckpt_*.safetensors")):
        weights = "random"
    print(f"machine: {os.cpu_count()} CPUs ({cores} usable), "
          f"{Path('/proc/cpuinfo').read_text().split('model name')[1].split(':')[1].splitlines()[0].strip()}")  # fmt: skip
    print(f"before: {busy({os.getpid()})}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["FUSION_CACHE"] = str(folder / "cache")
        onnx_path = folder / "slicegan-nmc.onnx"
        export_args = ["--random-init"] if weights == "random" else (
            [] if weights == "latest" else ["--checkpoint", weights])  # fmt: skip
        exported = subprocess.run(
            [str(TRAIN_PYTHON), str(FOLDER / "export.py"), *export_args, "--out", str(onnx_path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        record = json.loads(exported.stdout)
        print(f"weights: {weights} (checkpoint {record['checkpoint']}, iteration {record['iteration']}); "
              f"ONNX {onnx_path.stat().st_size / 2**20:.1f} MiB; torch vs onnxruntime: "
              f"{record['label_mismatches_torch_vs_onnxruntime']}")  # fmt: skip
        registry = register(onnx_path, folder)
        torch = TorchWorker(weights, cores)
        print(f"PyTorch {torch.info['torch']} ({torch.info['threads']} threads); "
              f"onnxruntime {__import__('onnxruntime').__version__} ({cores} threads)")  # fmt: skip
        sgemm = {
            "numpy (start)": sgemm_numpy(),
            "torch.mm (start)": torch.ask(op="sgemm", n=4096)["gflops"],
            "onnxruntime MatMul (start)": sgemm_onnxruntime(),
        }
        ours(64, registry)  # warm-up: caches, imports
        torch.ask(op="generate", latent=[4, 4, 4])
        times: dict[int, dict[str, list[float]]] = {}
        around: dict[int, list[float]] = {}  # onnxruntime sgemm just before and after each size
        for n, reps in zip(args.sizes, args.reps + [1] * len(args.sizes), strict=False):
            latent = [n // 32 + 2] * 3
            times[n] = {"ours": [], "torch": []}
            around[n] = [sgemm_onnxruntime()]
            for rep in range(reps):
                order = ("ours", "torch") if rep % 2 == 0 else ("torch", "ours")
                for who in order:
                    if who == "ours":
                        times[n]["ours"].append(ours(n, registry))
                    else:
                        times[n]["torch"].append(torch.ask(op="generate", latent=latent)["seconds"])
            around[n].append(sgemm_onnxruntime())
            print(f"  {n}³: ours {times[n]['ours']}, torch {times[n]['torch']}, "
                  f"sgemm around {around[n]}", flush=True)  # fmt: skip
        sgemm["numpy (end)"] = sgemm_numpy()
        sgemm["torch.mm (end)"] = torch.ask(op="sgemm", n=4096)["gflops"]
        sgemm["onnxruntime MatMul (end)"] = sgemm_onnxruntime()
        torch.close()
        peak_rate = max(sgemm.values())
        fpv = flops_per_voxel()

        print("\nsgemm (n = 4096, GFLOP/s): " + ", ".join(f"{k} {v:.1f}" for k, v in sgemm.items()))
        print(f"FLOPs per voxel: {fpv:,.0f}\n")
        print("| volume | ours (s) | ours Mvoxel/s | PyTorch eager (s) | PyTorch Mvoxel/s | speed-up | ours GFLOP/s | of best sgemm | of sgemm around it |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, t in times.items():
            a, b = min(t["ours"]), min(t["torch"])
            gflops = n**3 / a * fpv / 1e9
            local = sum(around[n]) / len(around[n])
            print(f"| {n}³ | {a:.2f} | {n**3 / a / 1e6:.2f} | {b:.2f} | {n**3 / b / 1e6:.2f} | "
                  f"{b / a:.1f}× | {gflops:.1f} | {gflops / peak_rate:.0%} | "
                  f"{gflops / local:.0%} of {local:.0f} |")  # fmt: skip

        streamed = child(args.streamed, "streamed", folder, registry)
        memory = min(
            (child(256, "memory", folder, registry) for _ in range(args.memory_reps)),
            key=lambda r: r[0],
        )
        tiled = min(
            (child(256, "tiled", folder, registry) for _ in range(args.memory_reps)),
            key=lambda r: r[0],
        )
        print("\n| run | wall (s) | Mvoxel/s | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        rates = {}
        for name, n, (seconds, peak) in (
            (f"{args.streamed}³ streamed to Zarr (default tiles)", args.streamed, streamed),
            (f"256³ in memory (one pass, best of {args.memory_reps})", 256, memory),
            (f"256³ in memory (default tiles, best of {args.memory_reps})", 256, tiled),
        ):
            rates[name] = n**3 / seconds
            print(f"| {name} | {seconds:.1f} | {rates[name] / 1e6:.2f} | {peak:.0f} |")
        first, *others = rates.values()
        print("\nstreamed / in-memory throughput: "
              + ", ".join(f"{first / other:.2f}" for other in others)
              + " (against one pass, against default tiles)")  # fmt: skip
    print(f"after: {busy({os.getpid()})}")


if __name__ == "__main__":
    main()
