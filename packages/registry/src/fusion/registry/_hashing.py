"""Digests as the registry writes them: ``sha256:<hex>`` in messages and listings.

Hashing itself is the bottom layer's (`fusion.base.hash_file`, streamed in 1 MiB chunks);
this module re-exports it for ``fusion.registry.hash_file``.
"""

from __future__ import annotations

from fusion.base import hash_file, is_sha256

__all__ = ["hash_file", "is_sha256", "label"]


def label(hexdigest: str) -> str:
    """The digest as written in messages and listings.

    >>> label("ab" * 32)[:15]
    'sha256:abababab'
    """
    return f"sha256:{hexdigest}"
