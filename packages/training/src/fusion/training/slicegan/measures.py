"""What the training eval measures on a generated label volume, in NumPy (no torch).

Errors against the statistics the critics' real images show (`training_data`): per-axis
interface densities (`interface_errors`), S2 anisotropy (`label_anisotropy`) and RMS over
shifts of S2 differences (`rms_over_shifts`); `fmt` writes a vector for the log.
"""

from __future__ import annotations

import numpy as np

from fusion.models import metrics
from fusion.training.slicegan.training_data import label_axis_offsets

__all__ = ["fmt", "interface_errors", "label_anisotropy", "rms_over_shifts"]


def label_anisotropy(labels: np.ndarray, n_phases: int, max_shift: int) -> np.ndarray:
    """(3, P): RMS over r = 1 .. max_shift of each axis's S2 minus the three axes' mean, for a
    generated label volume (the eval's measure of what `two_point_anisotropy` penalises)."""
    return rms_over_shifts(label_axis_offsets(labels, n_phases, max_shift))


def rms_over_shifts(difference: np.ndarray) -> np.ndarray:
    """RMS over the last axis (the shifts r) of S2 curves' differences."""
    return np.sqrt((difference**2).mean(axis=-1))


def fmt(values) -> str:
    """``[a, b, c]`` with four decimals, for the log."""
    return "[" + ", ".join(f"{float(v):.4f}" for v in values) + "]"


def interface_errors(labels: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """(3, P): relative error of each phase's interface density along each axis of a generated
    volume against ``expected`` (`training_data.expected_interface_density`)."""
    density = metrics.interface_density
    measured = np.array(
        [[density(labels, p, axis) for p in range(expected.shape[1])] for axis in range(3)]
    )
    return measured / expected - 1.0
