"""fusion.training.slicegan_xct: the XCT volume as ground truth for SliceGAN trained on its
slices (models/slicegan-nmc-xct): per-axis statistics of the real and generated volumes. No torch."""

from fusion.training.slicegan_xct.groundtruth import compare, statistics

__all__ = ["compare", "statistics"]
