"""fusion.training.unet: the U-Net segmenter of SEM images of an NMC cathode (models/unet-nmc).

Without torch: `render` (SEM-like images rendered from label images, the train/held-out
split), `evaluate` (held-out IoU and boundary F1), `baselines` (Otsu, random forest),
`ceiling`, `demo_real_sem`. With torch: `model` (UNet), `train`, `export`.
"""

from fusion.training.unet.render import RenderParams, heldout_renderings, render_sem, scale_range

__all__ = ["RenderParams", "heldout_renderings", "render_sem", "scale_range"]
