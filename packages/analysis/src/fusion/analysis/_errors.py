"""The error this package raises for inputs it cannot analyse."""

from __future__ import annotations

from fusion.schema import FusionError

__all__ = ["AnalysisError"]


class AnalysisError(FusionError, ValueError):
    """An input cannot be analysed as asked: wrong dtype, axis, voxel size or label."""
