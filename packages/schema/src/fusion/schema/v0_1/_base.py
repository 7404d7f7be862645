"""The base model and the constrained string types every 0.1 model shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["FusionModel", "Identifier", "NonEmptyStr", "Sha256"]


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
