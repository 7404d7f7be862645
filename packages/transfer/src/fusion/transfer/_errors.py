"""The one exception of the package: bad input, named with its file or group."""

from __future__ import annotations

from fusion.schema import FusionError

__all__ = ["TransferError", "TransferWarning"]


class TransferError(FusionError, ValueError):
    """An input cannot be transferred: the message names the file (or group) and the problem."""


class TransferWarning(UserWarning):
    """The transfer ran, but a fit could not reach its target (the message says by how much)."""
