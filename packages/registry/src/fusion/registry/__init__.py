"""fusion.registry: registered models and datasets, verified into a content-addressed cache.

- ``pull("dataset:nmc-demo@0.1.0")`` → the path of a file whose SHA-256 has been checked
  (``fusion-pull`` on the command line). Registry: ``registry=``, ``FUSION_REGISTRY``, else
  the checkout's ``registry.yaml``; cache: ``cache=``, ``FUSION_CACHE``, else the user cache
  folder; ``offline=True`` or ``FUSION_OFFLINE=1`` touches no network.
- ``load_registry`` / ``RegistryIndex``: the registry file (``fusion-registry/2``, an index
  whose versions point to card files; ``Registry`` is ``fusion-registry/1``, cards inline),
  ``ModelCard`` and ``DatasetCard``; ``json_schemas()`` of all three.
- ``register_model`` / ``register_dataset``: add a version (card file + index entry);
  ``upgrade_registry``: rewrite a ``/1`` file as ``/2``; ``fusion.registry.authoring``: helpers
  that write card text.
- ``Cache``: ``fetch``, ``verify``, ``prune``.
- ``check_registry``: every check a contributed entry must pass; a model's task
  (``fusion.registry.tasks``: ``Task``, ``installed_tasks``, group ``fusion.tasks``) does the
  checks that run the model.
- Errors: ``HashMismatchError``, ``SizeMismatchError``, ``NotInRegistryError``,
  ``OfflineError``, ... (each a ``fusion.schema.FusionError``).

Nothing here imports xarray, zarr or a model runtime: a warm ``fusion-pull`` loads only
pydantic, yaml and fsspec (`fusion.schema` is imported inside the functions that validate
datasets or channel attributes).
"""

from __future__ import annotations

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
from ._check import check_registry
from ._config import default_cache_dir, default_registry
from ._errors import (
    BadReferenceError,
    CardFileError,
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
from ._index import CardFile, IndexedVersion, RegistryIndex
from ._jsonschema import json_schemas, write_json_schemas
from ._load import load_registry, parse_registry
from ._models import DatasetVersion, ModelVersion, Registry
from ._pull import pull
from ._register import register_dataset, register_model, upgrade_registry
from ._registry import LoadedRegistry, Resolved, resolve
from ._report import CheckReport, EntryResult
from ._resolve import Ref, parse_ref
from ._tensors import (
    LATENT_BLOCK,
    LATENT_WHOLE_LIMIT,
    LatentTooLargeError,
    compare,
    draw_latent,
    shape_problems,
)
from .tasks import TASK_GROUP, CheckRequest, Task, installed_tasks

__all__ = [
    "LATENT_BLOCK",
    "LATENT_WHOLE_LIMIT",
    "TASK_GROUP",
    "Artifact",
    "BadReferenceError",
    "BlobStatus",
    "Cache",
    "CardFile",
    "CardFileError",
    "CheckReport",
    "CheckRequest",
    "DatasetCard",
    "DatasetVersion",
    "EntryResult",
    "HashMismatchError",
    "IndexedVersion",
    "IntegrityError",
    "LatentSpec",
    "LatentTooLargeError",
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
    "RegistryIndex",
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
    "register_dataset",
    "register_model",
    "resolve",
    "shape_problems",
    "upgrade_registry",
    "write_json_schemas",
]
