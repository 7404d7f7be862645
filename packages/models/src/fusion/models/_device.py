"""Choosing where ONNX models run: an explicit, recorded device, never a silent fallback.

onnxruntime-gpu lists ``CUDAExecutionProvider`` as available whether or not a GPU, a driver and
the CUDA libraries are present, and a session asked for CUDA quietly runs on the CPU when they
are not. So the CUDA provider is *probed*: a one-node model is opened with it, and CUDA counts
as present only if the session really holds the CUDA provider.

- ``auto``: CUDA when the probe succeeds, else CPU.
- ``cpu``: CPU only.
- ``cuda``: CUDA or a `DeviceUnavailableError` naming what is missing.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fusion.schema import FusionError

__all__ = ["DEVICES", "DeviceUnavailableError", "Session", "cuda_available", "open_session"]

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

    def provenance(self) -> dict[str, object]:
        """The execution facts an activity records in its parameters."""
        return {
            "device": self.device,
            "providers": list(self.providers),
            "onnxruntime": self.onnxruntime_version,
        }


def _quiet_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: the probe's failure is an answer, not news
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


def open_session(model: str | Path | bytes, device: Device = "auto") -> Session:
    """Open an ONNX model on the chosen device.

    Raises
    ------
    DeviceUnavailableError
        ``device="cuda"`` and CUDA cannot be used, or the session did not take it.
    """
    import onnxruntime as ort

    providers = providers_for(device)
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, _quiet_options(), providers=providers)
    used = tuple(session.get_providers())
    if device == "cuda" and used[0] != CUDA:
        raise DeviceUnavailableError(f"--device cuda: the session fell back to {used[0]}")
    return Session(
        session=session,
        device="cuda" if used[0] == CUDA else "cpu",
        providers=used,
        onnxruntime_version=ort.__version__,
    )
