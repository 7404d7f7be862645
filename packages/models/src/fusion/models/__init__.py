"""fusion.models: running registered ONNX models into the fused format.

- `open_session` / `cuda_available`: onnxruntime sessions on an explicit device (``auto``,
  ``cpu``, ``cuda``); a ``cuda`` request that cannot be met is an error, never a CPU run.
- `generate`: sample a registered generator (``fusion generate model:NAME --shape Z Y X``)
  into a fused dataset; `segment`: label a dataset's grayscale channel with a registered 2D
  segmenter (``fusion segment model:NAME IN -o OUT``), tiled with overlap and blending; `wrap_outputs`: any registered model's output as a dataset (also the
  ``fusion.runtimes`` hook that ``fusion registry check`` uses).
- `fusion.models.metrics`: volume fractions, interface density and two-point correlation per
  axis, for comparing generated volumes with real images.

No torch import here: torch trains and exports models (``models/<name>/``); this package only
runs their ONNX files.
"""

from ._cli import add_model_run_options
from ._device import DEVICES, DeviceUnavailableError, Session, cuda_available, open_session
from ._generate import ShapeError, generate, latent_shape
from ._segment import SegmentInputError, segment
from ._wrap import wrap_outputs

__all__ = [
    "DEVICES",
    "DeviceUnavailableError",
    "SegmentInputError",
    "Session",
    "ShapeError",
    "add_model_run_options",
    "cuda_available",
    "generate",
    "latent_shape",
    "open_session",
    "segment",
    "wrap_outputs",
]
