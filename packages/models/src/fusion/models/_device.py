"""Choosing where ONNX models run: an explicit, recorded device, never a silent fallback.

onnxruntime-gpu lists ``CUDAExecutionProvider`` as available whether or not a GPU, a driver and
the CUDA libraries are present, and a session asked for CUDA quietly runs on the CPU when they
are not. So the CUDA provider is *probed*: a one-node model is opened with it, and CUDA counts
as present only if the session really holds the CUDA provider.

- ``auto``: CUDA when the probe succeeds, else CPU.
- ``cpu``: CPU only.
- ``cuda``: CUDA or a `DeviceUnavailableError` naming what is missing.

Sessions are opened for throughput on the CPU with bounded memory: one intra-op thread per
core this process may use (``os.sched_getaffinity``), all graph optimisations, worker threads
that sleep instead of spinning between operators (so a generator does not steal the cores
that compress and write the previous tile, or that other jobs on a shared machine use), and
the memory arena on but memory-pattern planning off: the plan pre-allocates one block for
every intermediate of a run, which raised the peak of a 256³ SliceGAN tile from 1.3 to
1.8 GiB and bought no speed (measured on a 2-core EPYC, onnxruntime 1.31).
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fusion.schema import FusionError

__all__ = [
    "DEVICES",
    "DeviceUnavailableError",
    "Session",
    "cpu_cores",
    "cuda_available",
    "open_session",
    "resolve_device",
    "session_options",
]

Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

# y = Identity(x), x: float[1]; opset 13, IR 7 (serialised once with onnx.helper)
_PROBE_MODEL = base64.b64decode(
    "CAc6OwoQCgF4EgF5IghJZGVudGl0eRIFcHJvYmVaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAN"
)


class DeviceUnavailableError(FusionError, RuntimeError):
    """The device asked for cannot be used here."""


@dataclass(frozen=True)
class Session:
    """An open onnxruntime session and what it runs on (recorded in provenance)."""

    session: object
    device: str
    """``cuda`` or ``cpu``: where the model really runs."""
    providers: tuple[str, ...]
    onnxruntime_version: str
    threads: int | None = None
    """Intra-op threads of the session (CPU runs)."""

    def provenance(self) -> dict[str, object]:
        """The execution facts an activity records in its parameters."""
        facts: dict[str, object] = {
            "device": self.device,
            "providers": list(self.providers),
            "onnxruntime": self.onnxruntime_version,
        }
        if self.threads is not None:
            facts["threads"] = self.threads
        return facts


def _quiet_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: the probe's failure is an answer, not news
    return options


def cpu_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def session_options(threads: int | None = None):
    """onnxruntime options for throughput (see the module docstring)."""
    import onnxruntime as ort

    options = _quiet_options()
    options.intra_op_num_threads = threads or cpu_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@functools.cache
def cuda_available() -> bool:
    """True if onnxruntime can really run on a CUDA device here (probed once per process)."""
    import onnxruntime as ort

    if CUDA not in ort.get_available_providers():
        return False
    ort.set_default_logger_severity(
        4
    )  # a failed probe is an answer; onnxruntime logs it as an error
    try:
        probe = ort.InferenceSession(_PROBE_MODEL, _quiet_options(), providers=[CUDA, CPU])
    except Exception:
        return False
    finally:
        ort.set_default_logger_severity(2)  # onnxruntime's default: warnings and above
    return probe.get_providers()[0] == CUDA


def providers_for(device: Device) -> list[str]:
    """The onnxruntime provider list for a device choice; raises for an unusable ``cuda``."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return [CPU]
    if cuda_available():
        return [CUDA, CPU]
    if device == "cuda":
        import onnxruntime as ort

        listed = CUDA in ort.get_available_providers()
        raise DeviceUnavailableError(
            "--device cuda was asked for, but "
            + (
                "the CUDA provider could not start (no GPU, driver, CUDA 13 or cuDNN 9 here)"
                if listed
                else "this onnxruntime has no CUDA provider (install onnxruntime-gpu)"
            )
            + "; use --device cpu or --device auto"
        )
    return [CPU]


def resolve_device(device: Device) -> Device:
    """``cpu`` or ``cuda``: where ``device`` runs here (``auto``: CUDA when usable); raises for an
    unusable ``cuda``. Tasks sent to a cluster's workers carry this, not ``auto``, so they run
    where the provenance says."""
    return "cuda" if providers_for(device)[0] == CUDA else "cpu"


def open_session(
    model: str | Path | bytes, device: Device = "auto", *, threads: int | None = None
) -> Session:
    """Open an ONNX model on the chosen device.

    ``threads``: intra-op threads (default: one per usable core).

    Raises
    ------
    DeviceUnavailableError
        ``device="cuda"`` and CUDA cannot be used, or the session did not take it.
    """
    import onnxruntime as ort

    providers = providers_for(device)
    source = model if isinstance(model, bytes) else str(model)
    options = session_options(threads)
    session = ort.InferenceSession(source, options, providers=providers)
    used = tuple(session.get_providers())
    if device == "cuda" and used[0] != CUDA:
        raise DeviceUnavailableError(f"--device cuda: the session fell back to {used[0]}")
    return Session(
        session=session,
        device="cuda" if used[0] == CUDA else "cpu",
        providers=used,
        onnxruntime_version=ort.__version__,
        threads=options.intra_op_num_threads if used[0] == CPU else None,
    )
