"""fusion.models: running registered ONNX models into the fused format.

- `resolve_model` / `open_model`: the one place a ``model:NAME[@VERSION]`` reference is
  resolved in the registry, pulled (sha256 checked) and described for a runner (`OpenedModel`:
  ref, sha256, card, the picklable `ModelFile`, a session on demand).
- `open_session` / `cuda_available`: onnxruntime sessions on an explicit device (``auto``,
  ``cpu``, ``cuda``); a ``cuda`` request that cannot be met is an error, never a CPU run.
- `generate`: sample a registered generator (``fusion generate model:NAME --shape Z Y X``)
  into a fused dataset; `segment`: label a dataset's grayscale channel with a registered 2D
  segmenter (``fusion segment model:NAME IN -o OUT``), tiled with overlap and blending;
  `wrap_outputs`: any registered model's output as a dataset.
- `fusion.models.tasks`: the ``generate-3d`` and ``segment-2d`` tasks (entry-point group
  ``fusion.tasks``): their card rules, `fusion registry check` steps, runners and verbs;
  `check_onnx_entry`: the ONNX checks every task of an ONNX model shares (docs/contributing.md).
- `fusion.models.metrics`: volume fractions, interface density and two-point correlation per
  axis, for comparing generated volumes with real images.

No torch import here: torch trains and exports models (``models/<name>/``); this package only
runs their ONNX files.
"""

from ._checks import check_onnx_entry
from ._cli import add_model_run_options
from ._device import DEVICES, DeviceUnavailableError, Session, cuda_available, open_session
from ._generate import SeededLatent, ShapeError, TooManyTilesError, generate, latent_shape
from ._open import OpenedModel, ResolvedModel, open_model, resolve_model
from ._segment import SegmentInputError, segment
from ._sessions import ModelFile
from ._superres import SuperResInputError, superres
from ._wrap import WrapRequest, wrap_outputs

__all__ = [
    "DEVICES",
    "DeviceUnavailableError",
    "ModelFile",
    "OpenedModel",
    "ResolvedModel",
    "SeededLatent",
    "SegmentInputError",
    "Session",
    "ShapeError",
    "SuperResInputError",
    "TooManyTilesError",
    "WrapRequest",
    "add_model_run_options",
    "check_onnx_entry",
    "cuda_available",
    "generate",
    "latent_shape",
    "open_model",
    "open_session",
    "resolve_model",
    "segment",
    "superres",
    "wrap_outputs",
]
