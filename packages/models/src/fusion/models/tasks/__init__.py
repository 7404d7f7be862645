"""The model tasks of fusion-models, one module each, registered in ``fusion.tasks``.

- `generate3d.Generate3D` (``generate-3d``): seeded 3D generators (SliceGAN); verb
  ``fusion generate``.
- `segment2d.Segment2D` (``segment-2d``): 2D segmenters applied slice by slice (U-Net); verb
  ``fusion segment``.
- `superres3d.SuperResolve3D` (``super-resolve-3d``): coarse particle maps made finer
  (SuperRes); verb ``fusion superres``.

Each declares its card rules, its `fusion registry check` (the shared ONNX checks of
``fusion.models._checks`` plus its own), its runner and its verb.
"""

from .generate3d import Generate3D
from .segment2d import Segment2D
from .superres3d import SuperResolve3D

__all__ = ["Generate3D", "Segment2D", "SuperResolve3D"]
