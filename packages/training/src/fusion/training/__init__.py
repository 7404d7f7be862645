"""fusion.training: the training and export code of the registered models.

Imports without torch. The modules that need torch import it at their top and are imported
only in the training environment (``.venv-train``, see ``models/slicegan-nmc/README.md``):

- `fusion.training.checkpoints`: pickle-free safetensors checkpoints, atomic writes, resume,
  pruning, logs (torch);
- `fusion.training.export`: the export record written beside an ONNX export (torch);
- `fusion.training.gan`: 2D-critic GAN machinery: slices, WGAN-GP steps, averaging (torch);
- `fusion.training.slicegan`: SliceGAN (``models/slicegan-nmc``);
- `fusion.training.slicegan_xct`: the XCT ground truth of ``models/slicegan-nmc-xct``;
- `fusion.training.unet`: the U-Net segmenter (``models/unet-nmc``).
"""

from importlib.metadata import version as _version

__version__ = _version("fusion-training")

__all__ = ["__version__"]
