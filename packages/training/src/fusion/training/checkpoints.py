"""Checkpoints of the training runs: pickle-free safetensors files, atomic writes, resume, pruning, logs.

Runs in the training environment (torch, safetensors). A checkpoint is one ``.safetensors``
file: tensors (weights, optimiser state, RNG state) plus, as JSON in its header, everything
else (``format``, configs, iteration, ...). Files are written atomically (temp file, fsync,
``os.replace``), so a killed run never leaves a half-written checkpoint, and a damaged one is
skipped in favour of the one before. No pickle anywhere.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load as st_load

__all__ = [
    "atomic_write",
    "latest_checkpoint",
    "list_checkpoints",
    "pack_optimizer",
    "prune_checkpoints",
    "read_checkpoint",
    "setup_logging",
    "unpack_optimizer",
]

CHECKPOINT = re.compile(r"ckpt_(\d+)\.safetensors")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, fsync it, and move it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """``(iteration, path)`` of every ``ckpt_<iteration>.safetensors`` in ``out``, oldest first."""
    found = []
    for path in out.glob("ckpt_*.safetensors"):
        match = CHECKPOINT.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(out: Path, keep_last: int, keep_every: int = 0) -> None:
    """Delete all but the newest ``keep_last`` checkpoints, keeping multiples of ``keep_every``."""
    for iteration, path in list_checkpoints(out)[:-keep_last]:
        if keep_every <= 0 or iteration % keep_every != 0:
            path.unlink()


def read_checkpoint(path: Path, fmt: str) -> tuple[dict, dict]:
    """``(tensors, meta)`` of a checkpoint; a ``ValueError`` if its format is not ``fmt``."""
    raw = Path(path).read_bytes()
    # a safetensors file starts with 8 bytes of little-endian header length, then JSON
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    meta = json.loads(header["__metadata__"]["meta"])
    if meta.get("format") != fmt:
        raise ValueError(f"{path}: checkpoint format {meta.get('format')!r}, expected {fmt!r}")
    return st_load(raw), meta


def latest_checkpoint(out: Path, fmt: str) -> tuple[Path, dict, dict] | None:
    """The newest readable checkpoint as ``(path, tensors, meta)``, or None."""
    for _, path in reversed(list_checkpoints(out)):
        try:
            return (path, *read_checkpoint(path, fmt))
        except Exception as err:  # a damaged file: fall back to the one before
            print(f"skipping unreadable checkpoint {path}: {err}", file=sys.stderr)
    return None


def pack_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> list:
    """Put an optimiser's state into ``tensors`` as ``<prefix>.<param>.<key>``; return its
    param groups (JSON, for the checkpoint's metadata)."""
    state = opt.state_dict()
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = (
                torch.as_tensor(value).detach().clone().contiguous()
            )
    return state["param_groups"]


def unpack_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, groups: list) -> None:
    """Load what `pack_optimizer` stored back into ``opt``."""
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".")
            state.setdefault(int(index), {})[key] = value
    for group in groups:
        group["betas"] = tuple(group["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})


def setup_logging(path: Path, name: str) -> Callable[[str], None]:
    """Log time-stamped lines to ``path`` (appended) and to stdout; return the info function."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    for handler in (logging.FileHandler(path), logging.StreamHandler(sys.stdout)):
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger.info
