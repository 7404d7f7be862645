"""fusion.schema: the fused multi-modal voxel dataset format.

Pydantic models of all metadata (`RootAttrs`, `ChannelAttrs`, `Provenance`, ...), the
validator (`validate`), the atomic writer (`write`), the verified copy (`push`), the
reader's side of it (`open_group`: a folder, ``.zip`` or fsspec URL as a read-only zarr group,
the one place paths become stores),
the mark of activities that end when their lazy data is written (`end_when_written`),
one way to record provenance (`fusion.schema.provenance`: `record`, `new_root`, entity
builders, `now`), the example dataset (`make_example`), the JSON Schema export, the ``.fusion`` accessors on
xarray objects (registered on import), and where dask work runs (`use_scheduler`: this
process's threads or a dask.distributed cluster). Options the verbs of every package share
are in `fusion.schema.cli_options`.
"""

from importlib.metadata import version as _version

from . import (
    _accessor,  # noqa: F401  (registers the .fusion accessors)
    provenance,
)
from ._errors import (
    ChunkMismatchError,
    FusionError,
    SchemaError,
    UnreadableFileError,
    UnreadableStoreError,
    WriteError,
    fill_options,
    option_error,
)
from ._example import make_example
from ._ids import unique_id
from ._scheduler import (
    SchedulerError,
    active_client,
    check_reachable,
    scheduler_facts,
    use_scheduler,
)
from .checks._report import CODES, Finding, ValidationReport
from .checks._validate import validate
from .model._jsonschema import json_schemas, write_json_schemas
from .model._versions import SUPPORTED_SCHEMAS
from .model.v0_2 import (
    PROJECTION_LAYOUTS,
    SCHEMA_ID,
    Activity,
    Agent,
    ChannelAttrs,
    CoordinateAttrs,
    DatasetEntity,
    FileEntity,
    ModelEntity,
    Provenance,
    RootAttrs,
    Sample,
    Software,
)
from .share._push import PushResult, push
from .store._manifest import ChunkDigest, ChunkManifest
from .store._room import NoRoomError, check_room, room_note
from .store._source import open_group
from .store._write import write
from .store._write_times import end_when_written

__version__ = _version("fusion-schema")

__all__ = [
    "CODES",
    "PROJECTION_LAYOUTS",
    "SCHEMA_ID",
    "SUPPORTED_SCHEMAS",
    "Activity",
    "Agent",
    "ChannelAttrs",
    "ChunkDigest",
    "ChunkManifest",
    "ChunkMismatchError",
    "CoordinateAttrs",
    "DatasetEntity",
    "FileEntity",
    "Finding",
    "FusionError",
    "ModelEntity",
    "NoRoomError",
    "Provenance",
    "PushResult",
    "RootAttrs",
    "Sample",
    "SchedulerError",
    "SchemaError",
    "Software",
    "UnreadableFileError",
    "UnreadableStoreError",
    "ValidationReport",
    "WriteError",
    "__version__",
    "active_client",
    "check_reachable",
    "check_room",
    "end_when_written",
    "fill_options",
    "json_schemas",
    "make_example",
    "open_group",
    "option_error",
    "provenance",
    "push",
    "room_note",
    "scheduler_facts",
    "unique_id",
    "use_scheduler",
    "validate",
    "write",
    "write_json_schemas",
]
