"""The base model and the constrained string types every 0.1 model shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["FusionModel", "Identifier", "NonEmptyStr", "Sha256", "parse_attrs"]

M = TypeVar("M", bound=BaseModel)


class FusionModel(BaseModel):
    """Strict base: unknown keys are errors, assignments are validated, no NaN or infinity.

    A docstring under a field becomes that field's description in the JSON Schema.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
        populate_by_name=True,
        frozen=False,
    )


NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def parse_attrs(model: type[M], attrs: Mapping[str, Any]) -> M:
    """Validate attributes as the JSON they are stored as, strictly (no "1024" for 1024,
    no 0 for a date): what passes here is what the JSON Schema accepts.

    Raises pydantic's ``ValidationError``.
    """
    return model.model_validate_json(json.dumps(dict(attrs), default=_to_json), strict=True)


def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)
