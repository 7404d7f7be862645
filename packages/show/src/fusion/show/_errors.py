"""The error `fusion show` raises for a request it cannot draw."""

from __future__ import annotations

from fusion.schema import FusionError

__all__ = ["ShowError"]


class ShowError(FusionError, ValueError):
    """A request that cannot be drawn: an index outside the volume, a bad option."""
