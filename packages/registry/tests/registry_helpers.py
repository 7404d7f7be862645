"""Builders for registry files, artifacts and a tiny ONNX generator with its card; the test
file server and the ``fusion-pull`` command line (a module name no other package uses)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fusion.registry.testing import sha, tiny_card, tiny_generator, write_registry

HERE = Path(__file__).parent


class FileServer:
    """``http_server.py`` in a subprocess, serving a folder; counts requests per path."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root, self.log = root, log
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "http_server.py"), str(root), str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self, method: str = "GET", path: str | None = None) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [
            ln
            for ln in lines
            if ln.startswith(method + " ") and (path is None or ln.endswith(path))
        ]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def pull_command(*args: str) -> list[str]:
    """``fusion-pull ARGS`` as a subprocess command (the same program)."""
    return [sys.executable, "-m", "fusion.registry", *args]


def make_blob(path: Path, size: int, seed: int = 0) -> tuple[Path, str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).bytes(size)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest(), size


def dataset_card(**extra: Any) -> dict[str, Any]:
    return {"description": "test data", "format": "fusion/0.1", "license": "CC0-1.0", **extra}


def dataset_version(url: str, sha256: str | None, size: int | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"url": url, "card": dataset_card()}
    if sha256 is not None:
        entry["sha256"] = sha256
    if size is not None:
        entry["size"] = size
    return {**entry, **extra}


__all__ = [
    "FileServer",
    "dataset_card",
    "dataset_version",
    "make_blob",
    "pull_command",
    "sha",
    "tiny_card",
    "tiny_generator",
    "write_registry",
]
