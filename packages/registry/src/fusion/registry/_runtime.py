"""The hook through which `fusion registry check` asks a runtime to wrap a model's output.

A runtime package (which turns a model's arrays into a fused dataset) registers a callable in
the entry-point group ``fusion.runtimes``::

    [project.entry-points."fusion.runtimes"]
    onnx = "fusion.runtime._hooks:wrap_outputs"

The callable takes a :class:`WrapRequest` and returns an ``xarray.DataTree`` in the fusion
format; `check` validates it at level ``data``. With no runtime installed that step is
reported as skipped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from ._card import ModelCard

__all__ = ["RUNTIME_GROUP", "Runtime", "WrapRequest", "installed_runtimes"]

RUNTIME_GROUP = "fusion.runtimes"


@dataclass(frozen=True)
class WrapRequest:
    """What a runtime gets: the model's identity, its card, and the arrays of one run."""

    ref: str
    """``model:name@version``."""
    sha256: str
    """SHA-256 of the ONNX file that ran (for the provenance record)."""
    card: ModelCard
    inputs: Mapping[str, np.ndarray]
    outputs: Mapping[str, np.ndarray]
    seed: int | None = None
    """The seed the latent was drawn with, for generators."""


Runtime = Callable[[WrapRequest], Any]
"""``runtime(request) -> xarray.DataTree`` in the fusion format."""


def installed_runtimes() -> dict[str, Runtime]:
    """The runtimes registered in ``fusion.runtimes``; one that fails to load is skipped with
    a warning, so that it cannot take `check` down."""
    found: dict[str, Runtime] = {}
    for entry in sorted(entry_points(group=RUNTIME_GROUP), key=lambda e: e.name):
        try:
            found[entry.name] = entry.load()
        except Exception as err:
            warnings.warn(f"fusion runtime {entry.name!r} failed to load: {err}", stacklevel=2)
    return found
