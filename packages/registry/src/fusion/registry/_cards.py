"""Card files of a ``fusion-registry/2`` index: where they go, how they are written and read.

Cards are read lazily, one version at a time, when a caller first needs that version's card
(``Resolved.entry``, ``LoadedRegistry.entry``); ``fusion-pull`` of an artifact reads none, and
only whole-registry views (``LoadedRegistry.registry``, ``entries()``, ``fusion registry
check`` and ``list``) read them all. A card is fetched like an artifact, through the
content-addressed cache (``blobs/<sha256>.yaml``), so its SHA-256 and size are checked against
the index and offline mode serves it from the cache after one online read. Its bytes are then
parsed with the safe loader and validated strictly.

Layout: a model's card goes in a folder named after the version beside the artifact
(``models/slicegan-nmc/0.4.0/card.yaml`` for ``models/slicegan-nmc/0.4.0/slicegan-nmc.onnx``,
``models/unet-nmc/0.1.0/card.yaml`` for ``models/unet-nmc/unet-nmc.onnx``); a dataset's card
sits beside its archive, named after it and the version (``datasets/nmc-demo-0.1.0.card.yaml``); the card of an artifact at an
absolute URL goes to ``<models|datasets>/<name>/<version>/card.yaml`` beside the registry.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from pydantic import ValidationError

from . import _errors as errors
from ._base import SEMVER_PATTERN, url_protocol
from ._cache import Cache
from ._card import DatasetCard, ModelCard
from ._index import CardFile
from ._models import KINDS
from ._resolve import locate
from ._yaml import dump_yaml, safe_yaml, validate_strict

__all__ = ["CARD_MODELS", "card_problems", "card_text", "card_url_for", "read_card"]

CARD_MODELS: dict[str, type[ModelCard] | type[DatasetCard]] = {
    "model": ModelCard,
    "dataset": DatasetCard,
}
"""Reference kind → the card model its card files hold."""


def card_url_for(kind: str, name: str, version: str, artifact_url: str) -> str:
    """Where the card of a version goes, relative to the registry file like its artifact.

    >>> card_url_for("model", "slicegan-nmc", "0.4.0", "models/slicegan-nmc/0.4.0/slicegan-nmc.onnx")
    'models/slicegan-nmc/0.4.0/card.yaml'
    >>> card_url_for("model", "slicegan-nmc-xct", "0.1.0", "models/slicegan-nmc-xct/iso/a.onnx")
    'models/slicegan-nmc-xct/iso/0.1.0/card.yaml'
    >>> card_url_for("model", "slicegan-nmc", "0.5.0", "models/slicegan-nmc/0.4.0/slicegan-nmc.onnx")
    'models/slicegan-nmc/0.5.0/card.yaml'
    >>> card_url_for("dataset", "nmc-demo", "0.1.0", "datasets/nmc-demo-0.1.0.zip")
    'datasets/nmc-demo-0.1.0.card.yaml'
    >>> card_url_for("dataset", "nmc-demo", "0.2.0", "datasets/nmc-demo.zip")
    'datasets/nmc-demo-0.2.0.card.yaml'
    >>> card_url_for("dataset", "nmc-demo", "0.1.0", "s3://bucket/nmc-demo.zip")
    'datasets/nmc-demo/0.1.0/card.yaml'
    """
    if url_protocol(artifact_url) is not None:  # the artifact is elsewhere; the card stays here
        return f"{KINDS[kind]}/{name}/{version}/card.yaml"
    folder, file = posixpath.split(artifact_url)
    if kind == "dataset":
        stem = posixpath.splitext(file)[0]
        stem = stem if stem.endswith(version) else f"{stem}-{version}"
        return posixpath.join(folder, stem + ".card.yaml")
    if posixpath.basename(folder) != version:
        # an earlier version's file, registered again: the card goes beside that version's folder
        shared = re.match(SEMVER_PATTERN, posixpath.basename(folder)) is not None
        folder = posixpath.join(posixpath.dirname(folder) if shared else folder, version)
    return posixpath.join(folder, "card.yaml")


def card_text(card: dict[str, Any]) -> bytes:
    """The bytes of a card file: the card as YAML (UTF-8, keys in their order)."""
    return dump_yaml(card).encode("utf-8")


def read_card(
    card: CardFile,
    kind: str,
    *,
    registry_location: str,
    what: str,
    cache: Cache,
    offline: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> ModelCard | DatasetCard:
    """Fetch, verify and validate one card file.

    Parameters
    ----------
    card
        The index's pointer to the card file.
    kind
        ``model`` or ``dataset``.
    registry_location
        The registry file; the card's URL is relative to its folder.
    what
        The version, as messages name it (``model:slicegan-nmc@0.4.0``).

    Raises
    ------
    HashMismatchError, SizeMismatchError
        The file's bytes are not those the index pins (the message names the file).
    CardFileError
        The file is missing, or not a valid card.
    OfflineError
        Offline mode is on and the card was never read online.
    """
    url = locate(registry_location, card.url)
    try:
        blob = cache.fetch(
            url,
            sha256=card.sha256,
            size=card.size,
            suffix=".yaml",
            what=f"{what}: card file",
            offline=offline,
            storage_options=storage_options,
        )
    except errors.TransferError as err:
        if isinstance(err.__cause__, FileNotFoundError):
            raise errors.CardFileError(f"{what}: the card file {url} is missing") from err
        raise
    document = safe_yaml(blob.read_bytes(), url)
    model = CARD_MODELS[kind]
    try:
        return validate_strict(model, document)
    except ValidationError as err:
        raise errors.CardFileError(card_problems(err, url, kind)) from None


def card_problems(err: ValidationError, url: str, kind: str, limit: int = 3) -> str:
    """The first problems of a card (at most ``limit``), each naming the field and the value;
    ``url`` names the card (its file, or the version being registered)."""
    problems = err.errors(include_url=False)
    lines = []
    for p in problems[:limit]:
        field = ".".join(str(x) for x in p["loc"])
        value = p.get("input")
        message = p["msg"].removeprefix("Value error, ")
        shown = isinstance(value, str | int | float) and value != "" and str(value) not in message
        lines.append(
            (f"{field}: " if field else "") + message + (f", got {value!r}" if shown else "")
        )
    tail = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"{url}: invalid {kind} card: " + "; ".join(lines) + tail
