"""The model tasks of fusion-models, one module each, registered in ``fusion.tasks``.

- `generate3d.Generate3D` (``generate-3d``): seeded 3D generators (SliceGAN); verb
  ``fusion generate``.
- `segment2d.Segment2D` (``segment-2d``): 2D segmenters applied slice by slice (U-Net); verb
  ``fusion segment``.

Each declares its card rules, its `fusion registry check` (the shared ONNX checks of
``fusion.models._checks`` plus its own), its runner and its verb.
"""

from .generate3d import Generate3D
from .segment2d import Segment2D

__all__ = ["Generate3D", "Segment2D"]
