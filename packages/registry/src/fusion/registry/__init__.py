"""fusion.registry: registered models and datasets, verified into a content-addressed cache.

- ``pull("dataset:nmc-demo@0.1.0")`` → the path of a file whose SHA-256 has been checked
  (``fusion-pull`` on the command line). Registry: ``registry=``, ``FUSION_REGISTRY``, else
  the checkout's ``registry.yaml``; cache: ``cache=``, ``FUSION_CACHE``, else the user cache
  folder; ``offline=True`` or ``FUSION_OFFLINE=1`` touches no network.
- ``load_registry`` / ``Registry``: the registry file (``fusion-registry/1``), ``ModelCard``
  and ``DatasetCard``; ``json_schemas()`` of all three.
- ``Cache``: ``fetch``, ``verify``, ``prune``.
- ``check_registry``: every check a contributed entry must pass; a model's task
  (``fusion.registry.tasks``: ``Task``, ``installed_tasks``, group ``fusion.tasks``) does the
  checks that run the model.
- Errors: ``HashMismatchError``, ``SizeMismatchError``, ``NotInRegistryError``,
  ``OfflineError``, ... (each a ``fusion.schema.FusionError``).

Names are imported on first use: ``import fusion.registry`` stays cheap, so that a warm
``fusion-pull`` does not load xarray and zarr.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base import Artifact
    from ._cache import BlobStatus, Cache, PruneResult
    from ._card import (
        DatasetCard,
        LatentSpec,
        ModelCard,
        OutputChannel,
        Preprocessing,
        TensorDescr,
        TestTensors,
        Tolerance,
    )
    from ._check import CheckReport, EntryResult, check_registry
    from ._config import default_cache_dir, default_registry
    from ._errors import (
        BadReferenceError,
        HashMismatchError,
        IntegrityError,
        NoRegistryError,
        NotInRegistryError,
        OfflineError,
        RegistryFileError,
        SizeMismatchError,
        TransferError,
        UnsafePathError,
    )
    from ._hashing import hash_file
    from ._jsonschema import json_schemas, write_json_schemas
    from ._load import LoadedRegistry, load_registry, parse_registry
    from ._models import DatasetVersion, ModelVersion, Registry
    from ._pull import pull
    from ._resolve import Ref, Resolved, parse_ref, resolve
    from ._tensors import compare, draw_latent, shape_problems
    from .tasks import TASK_GROUP, CheckRequest, Task, installed_tasks

_EXPORTS = {
    "_base": ["Artifact"],
    "_cache": ["BlobStatus", "Cache", "PruneResult"],
    "_card": [
        "DatasetCard",
        "LatentSpec",
        "ModelCard",
        "OutputChannel",
        "Preprocessing",
        "TensorDescr",
        "TestTensors",
        "Tolerance",
    ],
    "_check": ["CheckReport", "EntryResult", "check_registry"],
    "_config": ["default_cache_dir", "default_registry"],
    "_errors": [
        "BadReferenceError",
        "HashMismatchError",
        "IntegrityError",
        "NoRegistryError",
        "NotInRegistryError",
        "OfflineError",
        "RegistryFileError",
        "SizeMismatchError",
        "Task",
        "TransferError",
        "UnsafePathError",
    ],
    "_hashing": ["hash_file"],
    "_jsonschema": ["json_schemas", "write_json_schemas"],
    "_load": ["LoadedRegistry", "load_registry", "parse_registry"],
    "_models": ["DatasetVersion", "ModelVersion", "Registry"],
    "_pull": ["pull"],
    "_resolve": ["Ref", "Resolved", "parse_ref", "resolve"],
    "_tensors": ["compare", "draw_latent", "shape_problems"],
    "tasks": ["TASK_GROUP", "CheckRequest", "Task", "installed_tasks"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "TASK_GROUP",
    "Artifact",
    "BadReferenceError",
    "BlobStatus",
    "Cache",
    "CheckReport",
    "CheckRequest",
    "DatasetCard",
    "DatasetVersion",
    "EntryResult",
    "HashMismatchError",
    "IntegrityError",
    "LatentSpec",
    "LoadedRegistry",
    "ModelCard",
    "ModelVersion",
    "NoRegistryError",
    "NotInRegistryError",
    "OfflineError",
    "OutputChannel",
    "Preprocessing",
    "PruneResult",
    "Ref",
    "Registry",
    "RegistryFileError",
    "Resolved",
    "SizeMismatchError",
    "Task",
    "TensorDescr",
    "TestTensors",
    "Tolerance",
    "TransferError",
    "UnsafePathError",
    "check_registry",
    "compare",
    "default_cache_dir",
    "default_registry",
    "draw_latent",
    "hash_file",
    "installed_tasks",
    "json_schemas",
    "load_registry",
    "parse_ref",
    "parse_registry",
    "pull",
    "resolve",
    "shape_problems",
    "write_json_schemas",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fusion.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
