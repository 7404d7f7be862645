"""The base model and the constrained strings shared by the registry file and the cards.

The base mirrors ``fusion.schema``'s ``FusionModel`` (strict, documented fields) without
importing it: the pull path stays free of xarray and zarr.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    NonNegativeInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "NAME_PATTERN",
    "SEMVER_PATTERN",
    "Artifact",
    "ArtifactUrl",
    "Name",
    "NonEmptyStr",
    "RegistryModel",
    "Sha256",
    "Version",
    "check_name",
    "check_version",
    "is_network_url",
    "url_protocol",
]

NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)(?:://|::)")
_RELATIVE = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")


class RegistryModel(BaseModel):
    """Strict base: unknown keys are errors, assignments validated, no NaN or infinity.

    A docstring under a field becomes that field's description in the JSON Schema.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


def check_name(value: str) -> str:
    """Accept a registry name: lower-case letters, digits and single inner hyphens.

    >>> check_name("slicegan-nmc")
    'slicegan-nmc'
    """
    if len(value) <= 64 and re.match(NAME_PATTERN, value):
        return value
    raise PydanticCustomError(
        "registry_name",
        "name '{name}' is not allowed: names are [a-z0-9-]+ (lower-case letters, digits, "
        "single hyphens inside), at most 64 characters, e.g. 'slicegan-nmc'",
        {"name": value},
    )


def check_version(value: str) -> str:
    """Accept a semantic version (semver.org 2.0), e.g. ``1.0.0`` or ``0.2.0-rc.1``.

    >>> check_version("0.1.0")
    '0.1.0'
    """
    if re.match(SEMVER_PATTERN, value):
        return value
    raise PydanticCustomError(
        "registry_version",
        "version '{version}' is not a semantic version MAJOR.MINOR.PATCH (e.g. '0.1.0', "
        "'1.2.0-rc.1'); quote it in YAML so that 1.0 stays a string",
        {"version": value},
    )


def url_protocol(url: str) -> str | None:
    """The protocol of an absolute URL (first of a chain), or None for a relative path.

    >>> url_protocol("s3://bucket/a.zip"), url_protocol("datasets/a.zip")
    ('s3', None)
    """
    match = _SCHEME.match(url)
    return match.group(1) if match else None


def is_network_url(url: str) -> bool:
    """Whether reading ``url`` needs a network: any protocol except ``file`` and ``local``.

    >>> is_network_url("https://x/a.onnx"), is_network_url("file:///a.onnx"), is_network_url("a")
    (True, False, False)
    """
    protocol = url_protocol(url)
    return protocol is not None and protocol not in ("file", "local")


def _check_url(value: str) -> str:
    if url_protocol(value) is not None:
        return value
    if value.startswith(("/", "~")) or "\\" in value or re.match(r"^[A-Za-z]:", value):
        raise PydanticCustomError(
            "registry_path_escape",
            "absolute path '{url}' refused: artifact paths are relative to the registry file "
            "(write file:///... to name a local file outside it on purpose)",
            {"url": value},
        )
    if ".." in value.split("/"):
        raise PydanticCustomError(
            "registry_path_escape",
            "path '{url}' refused: '..' would leave the registry folder",
            {"url": value},
        )
    if not _RELATIVE.match(value):
        raise PydanticCustomError(
            "registry_url",
            "'{url}' is neither a URL (protocol://...) nor a relative path of letters, digits "
            "and _ . + - separated by single '/'",
            {"url": value},
        )
    return value


NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
Name = Annotated[
    str,
    AfterValidator(check_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": 64}),
]
Version = Annotated[
    str,
    AfterValidator(check_version),
    WithJsonSchema({"type": "string", "pattern": SEMVER_PATTERN}),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ArtifactUrl = Annotated[
    str,
    AfterValidator(_check_url),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "description": "An fsspec URL (https://, s3://, file://, ...) or a path relative "
            "to the registry file without '..'.",
        }
    ),
]


class Artifact(RegistryModel):
    """A file the registry points to: where it is, and what its bytes must be."""

    url: ArtifactUrl
    """fsspec URL (``https://``, ``s3://``, ``file://``, ...) or path relative to the registry
    file (no ``..``, not absolute)."""
    sha256: Sha256 | None = None
    """SHA-256 of the file, 64 lower-case hex digits. Required for network URLs; `fusion
    registry check` requires it everywhere."""
    size: NonNegativeInt | None = None
    """Size of the file in bytes. Checked while downloading; required by `fusion registry
    check`."""

    @model_validator(mode="after")
    def _network_urls_are_pinned(self) -> Artifact:
        if self.sha256 is None and is_network_url(self.url):
            raise PydanticCustomError(
                "registry_unpinned",
                "network URL '{url}' has no sha256: refused, because nothing could verify what "
                "it serves; add `sha256:` (e.g. from `sha256sum FILE`)",
                {"url": self.url},
            )
        return self
