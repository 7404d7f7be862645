"""fusion.models: running registered ONNX models into the fused format.

- `open_session` / `cuda_available`: onnxruntime sessions on an explicit device (``auto``,
  ``cpu``, ``cuda``); a ``cuda`` request that cannot be met is an error, never a CPU run.
- `fusion.models.metrics`: volume fractions, interface density and two-point correlation per
  axis, for comparing generated volumes with real images.

No torch import here: torch trains and exports models (``models/<name>/``); this package only
runs their ONNX files.
"""

from ._device import DEVICES, DeviceUnavailableError, Session, cuda_available, open_session

__all__ = ["DEVICES", "DeviceUnavailableError", "Session", "cuda_available", "open_session"]
