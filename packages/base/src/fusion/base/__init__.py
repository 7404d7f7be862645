"""fusion.base: the bottom layer every fusion package may import (standard library only).

Errors with exit codes (`FusionError` and its generic subclasses), SHA-256 of files, bytes and
streams (`hash_file`, `hash_bytes`, `Hasher`, `HashingReader`), files that appear whole or not
at all (`atomic_write`, `atomic_path`, `partial_sibling`), fresh ids (`new_id`) and byte counts
in words (`human_bytes`).
"""

from importlib.metadata import version as _version

from ._atomic import atomic_path, atomic_write, partial_sibling, remove_path
from ._errors import (
    EXIT_INVALID,
    EXIT_UNREADABLE,
    FusionError,
    UnreadableFileError,
    UnreadableStoreError,
    WriteError,
    fill_options,
    option_error,
)
from ._hashing import CHUNK, Hasher, HashingReader, Progress, hash_bytes, hash_file, is_sha256
from ._ids import new_id
from ._sizes import human_bytes

__version__ = _version("fusion-base")

__all__ = [
    "CHUNK",
    "EXIT_INVALID",
    "EXIT_UNREADABLE",
    "FusionError",
    "Hasher",
    "HashingReader",
    "Progress",
    "UnreadableFileError",
    "UnreadableStoreError",
    "WriteError",
    "__version__",
    "atomic_path",
    "atomic_write",
    "fill_options",
    "hash_bytes",
    "hash_file",
    "human_bytes",
    "is_sha256",
    "new_id",
    "option_error",
    "partial_sibling",
    "remove_path",
]
