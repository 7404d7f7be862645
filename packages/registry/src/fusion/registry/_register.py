"""Writing a registry: add a version (its card file and its index entry), or upgrade a file.

Each write validates everything first (the card with the card model, the whole file with the
registry model), writes temporary files beside their targets and moves them into place with
``os.replace``: the card file first and the index last, so that a reader never sees an entry
whose card is missing or has another hash. The comment block at the top of the registry file
is kept; the rest is rewritten by the safe YAML dumper.

Used by each model's ``register.py``::

    uv run python models/unet-nmc/register.py --version 0.1.0
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fusion.base import hash_file

from . import _errors as errors
from ._cards import CARD_MODELS, card_problems, card_text, card_url_for
from ._index import FORMAT_V2
from ._load import format_validation_error, safe_yaml, validate_document
from ._models import FORMAT, KINDS, DatasetVersion, ModelVersion
from ._resolve import locate
from ._yaml import dump_yaml, validate_strict

__all__ = ["register_dataset", "register_model", "upgrade_registry"]

PathLike = str | os.PathLike[str]


def register_model(
    registry_path: PathLike,
    name: str,
    version: str,
    onnx_path: PathLike,
    card: dict[str, Any],
    tensors_path: PathLike,
    tolerance: dict[str, float],
    seed: int | None = None,
) -> ModelVersion:
    """Add (or replace) a model version in a ``fusion-registry/2`` file; ``latest`` becomes it.

    Parameters
    ----------
    registry_path
        The registry file (created if absent). Artifacts must lie in its folder.
    name, version
        The model's registry name and semantic version.
    onnx_path
        The exported ONNX file (weights embedded).
    card
        The model card without ``test_tensors`` (the hand-written card plus measured metrics).
    tensors_path
        The ``.npz`` of test tensors that ``fusion registry check`` reruns.
    tolerance
        ``{"rtol": ..., "atol": ...}`` within which outputs must reproduce.
    seed
        The seed a generator's test latent was drawn with.

    Returns
    -------
    ModelVersion
        The entry as written, with its card.
    """
    registry = Path(registry_path).absolute()
    tensors = {**_digest(Path(tensors_path), registry), "tolerance": tolerance}
    if seed is not None:  # a generator's test latent is drawn from this seed
        tensors["seed"] = seed
    card = {**card, "test_tensors": tensors}
    return _register(registry, "model", name, version, Path(onnx_path), card)  # type: ignore[return-value]


def register_dataset(
    registry_path: PathLike, name: str, version: str, archive_path: PathLike, card: dict[str, Any]
) -> DatasetVersion:
    """Add (or replace) a dataset version (a zipped store and its card); see ``register_model``."""
    registry = Path(registry_path).absolute()
    return _register(registry, "dataset", name, version, Path(archive_path), card)  # type: ignore[return-value]


def upgrade_registry(registry_path: PathLike) -> list[Path]:
    """Rewrite a ``fusion-registry/1`` file (cards inline) as a ``/2`` index with card files.

    Each card goes where ``card_url_for`` says, with the same content (checked by reading it
    back); the comment block is kept, with ``fusion-registry/1`` in it read as ``/2``. A ``/2``
    file is left as it is.

    Returns
    -------
    list of Path
        The card files written.
    """
    registry = Path(registry_path).absolute()
    header, document = _read(registry)
    if document["registry"] == FORMAT_V2:
        return []
    _validated(document, registry)
    cards: dict[Path, bytes] = {}
    for kind, section in KINDS.items():
        for name, entry in (document.get(section) or {}).items():
            for version, item in entry["versions"].items():
                card = item.pop("card")
                url = card_url_for(kind, name, version, item["url"])
                text = card_text(card)
                if safe_yaml(text, url) != card:
                    raise errors.RegistryFileError(f"{url}: the card does not read back as it was")
                path = Path(locate(str(registry), url))
                cards[path] = text
                item["card"] = {"url": url, "sha256": None, "size": len(text)}
    document["registry"] = FORMAT_V2
    _write(registry, header.replace(FORMAT, FORMAT_V2), document, cards)
    return list(cards)


def _register(
    registry: Path, kind: str, name: str, version: str, artifact: Path, card: dict[str, Any]
) -> ModelVersion | DatasetVersion:
    header, document = _read(registry)
    if document["registry"] != FORMAT_V2:
        raise errors.RegistryFileError(
            f"{registry} is {document['registry']}: registering writes {FORMAT_V2}; upgrade it "
            "first with fusion.registry.upgrade_registry"
        )
    try:
        validated = validate_strict(CARD_MODELS[kind], card)
    except ValidationError as err:
        where = f"{registry} ({kind}:{name}@{version})"
        raise errors.CardFileError(card_problems(err, where, kind)) from None
    entry = _digest(artifact, registry)
    url = card_url_for(kind, name, version, entry["url"])
    text = card_text(card)
    entry["card"] = {"url": url, "sha256": None, "size": len(text)}
    section = document[KINDS[kind]] = document.get(KINDS[kind]) or {}
    versions = (section.get(name) or {}).get("versions") or {}
    others = [v for v in _versions(document) if v is not versions.get(version)]
    if any(v["card"]["url"] == url for v in others):
        raise errors.RegistryFileError(
            f"{registry}: {kind}:{name}@{version} would write the card file {url}, which another "
            "version's entry points to: give each version its own artifact folder or name"
        )
    section[name] = {"latest": version, "versions": {**versions, version: entry}}
    _write(registry, header, document, {Path(locate(str(registry), url)): text})
    full = ModelVersion if kind == "model" else DatasetVersion
    return full.model_validate(
        {**{k: v for k, v in entry.items() if k != "card"}, "card": validated}
    )


def _digest(path: Path, registry: Path) -> dict[str, Any]:
    """url (relative to the registry file), sha256 and size of a file in its folder."""
    url = os.path.relpath(path.absolute(), registry.parent).replace(os.sep, "/")
    if url.startswith("../") or os.path.isabs(url):
        raise errors.UnsafePathError(
            f"{path} is outside the folder of the registry {registry}: artifacts are referred to "
            "by paths relative to it"
        )
    return {"url": url, "sha256": hash_file(path), "size": path.stat().st_size}


def _read(registry: Path) -> tuple[str, dict[str, Any]]:
    """The comment block at the top and the parsed document (a new ``/2`` one if absent)."""
    if not registry.exists():
        return "", {"registry": FORMAT_V2}
    text = registry.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    document = safe_yaml(text, str(registry))
    if not isinstance(document, dict) or document.get("registry") not in (FORMAT, FORMAT_V2):
        raise errors.RegistryFileError(f"{registry}: not a {FORMAT} or {FORMAT_V2} file")
    return header, document


def _validated(document: dict[str, Any], registry: Path) -> None:
    try:
        validate_document(document)
    except ValidationError as err:
        message = format_validation_error(err, str(registry), fmt=document["registry"])
        raise errors.RegistryFileError(message) from None


def _write(registry: Path, header: str, document: dict[str, Any], cards: dict[Path, bytes]) -> None:
    """Write card files (hashing them as written), validate the index, then move all into
    place: cards first, the registry last. Nothing is replaced unless everything validated."""
    temps: dict[Path, Path] = {}
    try:
        pins = {}
        for path, text in cards.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temps[path] = _temp_beside(path, text)
            pins[path] = hash_file(temps[path])
        for entry in _versions(document):
            card = entry["card"]
            if card.get("sha256") is None:
                card["sha256"] = pins[Path(locate(str(registry), card["url"]))]
        _validated(document, registry)
        temps[registry] = _temp_beside(registry, (header + dump_yaml(document)).encode("utf-8"))
        for path, temp in temps.items():  # dicts keep order: the registry is last
            os.replace(temp, path)
    finally:
        for temp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def _versions(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for section in KINDS.values()
        for entry in (document.get(section) or {}).values()
        for item in entry["versions"].values()
    ]


def _temp_beside(path: Path, data: bytes) -> Path:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    temp.write_bytes(data)
    return temp
