"""Which format versions this release reads, and the root model of each."""

from __future__ import annotations

from .v0_1 import RootAttrs as RootAttrs01
from .v0_2 import SCHEMA_ID as LATEST
from .v0_2 import RootAttrs as RootAttrs02
from .v0_3 import RootAttrs as RootAttrs03

__all__ = ["LATEST", "ROOT_MODELS", "SUPPORTED_SCHEMAS"]

ROOT_MODELS: dict[str, type[RootAttrs01]] = {
    "fusion/0.1": RootAttrs01,
    "fusion/0.2": RootAttrs02,
    "fusion/0.3": RootAttrs03,
}
"""Root ``fusion`` attribute model by declared ``schema``; 0.2 adds projection groups, 0.3 the
``xray_energy`` channel dimension. `LATEST` (0.2) is what writers declare unless a dataset
uses what 0.3 adds."""

SUPPORTED_SCHEMAS: tuple[str, ...] = tuple(ROOT_MODELS)
