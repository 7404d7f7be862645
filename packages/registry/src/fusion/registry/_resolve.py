"""From ``KIND:NAME[@VERSION]`` to one entry of a registry file and the absolute location of a file.

Without ``@VERSION`` (or with ``@latest``) the entry's ``latest`` pointer is used, else the
highest release by semantic-version precedence (pre-releases only when there is nothing else).
Relative artifact paths resolve against the folder of the registry file and must stay inside
it, links included.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Literal

from pydantic_core import PydanticCustomError

from . import _errors as errors
from ._base import Artifact, check_name, check_version, url_protocol
from ._index import IndexEntry, RegistryIndex
from ._models import KINDS, DatasetEntry, ModelEntry, Registry

__all__ = [
    "Ref",
    "find_version",
    "latest_version",
    "locate",
    "parse_ref",
    "semver_key",
    "suffix_of",
]

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class Ref:
    """A reference ``kind:name@version``; ``version`` None means the latest."""

    kind: Literal["model", "dataset"]
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f"@{self.version}" if self.version else "")


def parse_ref(text: str | Ref) -> Ref:
    """Parse ``KIND:NAME[@VERSION]``.

    >>> parse_ref("model:slicegan-nmc")
    Ref(kind='model', name='slicegan-nmc', version=None)
    >>> str(parse_ref("dataset:nmc-demo@0.1.0"))
    'dataset:nmc-demo@0.1.0'
    """
    if isinstance(text, Ref):
        return text
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS:
        raise errors.BadReferenceError(
            f"{text!r} is not a reference: write KIND:NAME[@VERSION] with KIND one of "
            f"{', '.join(KINDS)}, e.g. model:slicegan-nmc or dataset:nmc-demo@0.1.0"
        )
    name, at, version = rest.partition("@")
    try:
        check_name(name)
        if at and version != "latest":
            check_version(version)
    except PydanticCustomError as err:
        raise errors.BadReferenceError(f"{text!r}: {err.message()}") from None
    return Ref(kind, name, version if at and version != "latest" else None)  # type: ignore[arg-type]


def semver_key(version: str) -> tuple:
    """Sort key by semantic-version precedence (build metadata ignored).

    >>> sorted(["1.0.0", "1.0.0-rc.2", "0.9.10", "1.0.0-rc.10", "0.9.9"], key=semver_key)
    ['0.9.9', '0.9.10', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0']
    """
    core, _, pre = version.split("+", 1)[0].partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    if not pre:
        return (numbers, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (numbers, 0, ids)


def latest_version(entry: ModelEntry | DatasetEntry | IndexEntry) -> str:
    """The ``latest`` pointer, else the highest release, else the highest pre-release."""
    if entry.latest is not None:
        return entry.latest
    releases = [v for v in entry.versions if "-" not in v.split("+", 1)[0]]
    return max(releases or entry.versions, key=semver_key)


def find_version(
    index: Registry | RegistryIndex, ref: str | Ref, location: str
) -> tuple[Ref, Artifact]:
    """``ref`` with its version filled in, and its entry in the registry file ``index`` (read
    from ``location``); raise ``NotInRegistryError`` listing what exists."""
    ref = parse_ref(ref)
    section = index.section(ref.kind)
    if ref.name not in section:
        have = ", ".join(sorted(section)) or "none"
        raise errors.NotInRegistryError(
            f"{ref.kind}:{ref.name} is not in the registry {location}; "
            f"its {KINDS[ref.kind]}: {have}"
        )
    entry = section[ref.name]
    version = ref.version or latest_version(entry)
    if version not in entry.versions:
        latest = latest_version(entry)
        have = ", ".join(
            v + (" (latest)" if v == latest else "") for v in sorted(entry.versions, key=semver_key)
        )
        raise errors.NotInRegistryError(
            f"{ref} is not in the registry {location}; versions of {ref.kind}:{ref.name}: {have}"
        )
    return Ref(ref.kind, ref.name, version), entry.versions[version]


def locate(registry_location: str, url: str) -> str:
    """The absolute location of ``url`` as written in the registry at ``registry_location``.

    A relative path joins the registry's folder and must stay inside it after resolving
    links; absolute URLs are returned as they are.

    >>> locate("https://host/reg/registry.yaml", "datasets/a.zip")
    'https://host/reg/datasets/a.zip'
    """
    if url_protocol(url) is not None:
        return url
    if url.startswith("/") or ".." in url.split("/"):  # the model refuses these; belt and braces
        raise errors.UnsafePathError(f"{url!r} would leave the registry folder: refused")
    if url_protocol(registry_location) is not None:
        return posixpath.join(registry_location.rsplit("/", 1)[0], url)
    folder = os.path.dirname(os.path.abspath(registry_location))
    path = os.path.join(folder, *url.split("/"))
    real, real_folder = os.path.realpath(path), os.path.realpath(folder)
    if os.path.commonpath([real, real_folder]) != real_folder:
        raise errors.UnsafePathError(
            f"{url!r} in {registry_location} resolves to {real}, outside the registry folder "
            f"{real_folder} (through a link): refused"
        )
    return path


def suffix_of(url: str) -> str:
    """The blob suffix for an artifact URL: its last extension if short and plain.

    >>> suffix_of("datasets/nmc-demo-0.1.0.zip"), suffix_of("https://x/y/model"), suffix_of("a.tar.gz")
    ('.zip', '', '.gz')
    """
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    suffix = posixpath.splitext(name)[1]
    return suffix if _SUFFIX.match(suffix) else ""
