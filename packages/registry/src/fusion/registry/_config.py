"""Where the registry and the cache are, and whether the network may be used.

Order for each: the argument, then the environment variable, then the default.

- Registry: ``--registry`` / ``registry=``, then ``FUSION_REGISTRY``, then the packaged
  default: the ``registry.yaml`` at the root of the source checkout this package is installed
  from (``uv sync`` installs the workspace packages editable, so this file is
  ``<root>/packages/registry/src/fusion/registry/_config.py``; the root is recognised by
  holding ``registry.yaml`` and ``packages/registry/pyproject.toml``). A wheel installed
  elsewhere has no default and says so: set ``FUSION_REGISTRY``.
- Cache: ``--cache`` / ``cache=``, then ``FUSION_CACHE``, then the user cache folder
  (``platformdirs.user_cache_dir("fusion")``, e.g. ``~/.cache/fusion``).
- Offline: ``--offline`` / ``offline=True``, or ``FUSION_OFFLINE`` set to ``1``, ``true`` or
  ``yes``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _errors as errors

__all__ = [
    "ENV_CACHE",
    "ENV_OFFLINE",
    "ENV_REGISTRY",
    "checkout_registry",
    "default_cache_dir",
    "default_registry",
    "offline_from_env",
]

ENV_REGISTRY = "FUSION_REGISTRY"
ENV_CACHE = "FUSION_CACHE"
ENV_OFFLINE = "FUSION_OFFLINE"


def checkout_registry() -> Path | None:
    """The ``registry.yaml`` of the source checkout this package runs from, if there is one."""
    here = Path(__file__).resolve()
    if len(here.parents) < 6:
        return None
    root = here.parents[5]  # <root>/packages/registry/src/fusion/registry/_config.py
    candidate = root / "registry.yaml"
    if candidate.is_file() and (root / "packages" / "registry" / "pyproject.toml").is_file():
        return candidate
    return None


def default_registry() -> str:
    """``FUSION_REGISTRY`` if set, else the checkout's ``registry.yaml``.

    Raises ``NoRegistryError`` (a ``FileNotFoundError``) when neither exists.
    """
    if os.environ.get(ENV_REGISTRY):
        return os.environ[ENV_REGISTRY]
    found = checkout_registry()
    if found is None:
        raise errors.NoRegistryError(
            "no registry given and no default: pass --registry PATH|URL or set "
            f"{ENV_REGISTRY} (the default is the registry.yaml of a source checkout)"
        )
    return str(found)


def default_cache_dir() -> Path:
    """``FUSION_CACHE`` if set, else the user cache folder for ``fusion``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("fusion", appauthor=False))


def offline_from_env() -> bool:
    """Whether ``FUSION_OFFLINE`` asks for offline mode (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")
