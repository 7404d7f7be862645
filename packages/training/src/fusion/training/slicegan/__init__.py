"""fusion.training.slicegan: SliceGAN trained on 2D images of an NMC cathode (models/slicegan-nmc).

Without torch: `config` (the run's settings), `training_data` (the critics' real images and
their statistics), `measures` (the eval's errors), `runtime_graph` (the ONNX graph the runtime
serves), `evaluate` (a release's metrics, on ONNX). With torch: `model` (Generator, Critic),
`crops`, `penalties`, `checkpoints`, `train` (the loop), `export`, `warm_start`, `axis_probe`,
`batchnorm_gap`.
"""

from fusion.training.slicegan.config import TrainConfig, continued_config, parse_args
from fusion.training.slicegan.training_data import (
    CENTRAL,
    expected_interface_density,
    expected_two_point,
    training_images,
)

__all__ = [
    "CENTRAL",
    "TrainConfig",
    "continued_config",
    "expected_interface_density",
    "expected_two_point",
    "parse_args",
    "training_images",
]
