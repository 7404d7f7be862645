"""The error classes of :mod:`._errors`, imported on first use.

The classes derive from ``fusion.schema.FusionError``, and importing ``fusion.schema`` loads
xarray and zarr (seconds). A warm ``fusion-pull`` only prints a path, so the modules on the
pull path write ``raise errors.HashMismatchError(...)`` against this module and pay for the
import only when something goes wrong.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from . import _errors

    try:
        return getattr(_errors, name)
    except AttributeError:
        raise AttributeError(f"fusion.registry has no error class {name!r}") from None
