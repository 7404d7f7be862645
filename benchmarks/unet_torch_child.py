"""PyTorch eager reference for bench_segment.py (run with the training venv, which has torch).

    .venv-train/bin/python benchmarks/unet_torch_child.py CHECKPOINT IMAGE.npy REPEAT THREADS LABELS.npy

Loads the U-Net from a training checkpoint (the same weights the ONNX file was exported from),
runs it on the whole (already normalised) image in one pass, as a PyTorch user would, REPEAT
times after one warm-up, saves the labels (uint8) to LABELS.npy and prints JSON: seconds per
run and peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fusion.training.unet.model import UNet, UNetConfig, pad_to_multiple
from fusion.training.unet.train import read_checkpoint


def main() -> None:
    checkpoint, image_path, repeat, threads, labels_path = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    tensors, meta = read_checkpoint(Path(checkpoint))
    model = UNet(UNetConfig(**meta["model_config"]))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    model.eval()
    image = np.load(image_path)
    x = torch.from_numpy(image)[None, None]
    times, labels = [], None
    with torch.inference_mode():
        for i in range(int(repeat) + 1):
            start = time.perf_counter()
            padded, (h, w) = pad_to_multiple(x, 2**model.cfg.depth)
            labels = model(padded)[0, :, :h, :w].argmax(0).to(torch.uint8).numpy()
            if i:  # the first run warms up
                times.append(time.perf_counter() - start)
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM"))
    np.save(labels_path, labels)
    print(json.dumps({"seconds": times, "peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
