"""An ONNX model as any process can open it: the task-side half of running on a cluster.

onnxruntime sessions cannot be pickled, so dask tasks carry a `ModelFile` instead: the path of
the verified file, its sha256, the device and the outputs to run. Each process (this one, or a
dask.distributed worker) opens it once, checks the file's sha256 against the one the
provenance records, and keeps the session for the tasks that follow (`ModelFile.session`).

The path must be valid where the task runs: on a ``local`` cluster it is (same machine); on a
``tcp://`` cluster the fusion cache folder must be shared with the workers, or the model pulled
on each of them into a cache at the same path (``FUSION_CACHE``).

Threads: a session for this process's threaded scheduler uses every core, one run at a time
(`ModelFile.exclusive`); a session on a cluster's worker uses one thread, and the worker's
thread count is the parallelism (``--scheduler local`` starts one-thread workers, one per core).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from fusion.base import hash_bytes
from fusion.schema import FusionError

from ._device import Device, Session, open_session
from ._genonnx import prune_outputs

__all__ = ["ModelFile", "ModelFileError"]

OPEN_SESSIONS = 2
"""Sessions a process keeps open (a generator and a segmenter, say); the least recently used
is dropped first. A CPU session keeps its memory arena, up to a tile's activations."""

_sessions: OrderedDict[ModelFile, Session] = OrderedDict()
_opening = threading.Lock()
_all_cores = threading.Lock()


class ModelFileError(FusionError, FileNotFoundError):
    """The model file is missing, or not the file the registry names, where a task runs."""


@dataclass(frozen=True)
class ModelFile:
    """What a task needs to open a registered model in any process (picklable, hashable)."""

    ref: str
    """``model:name@version``, for messages."""
    path: str
    """The verified file (``<cache>/blobs/<sha256>.onnx``)."""
    sha256: str
    device: Device
    outputs: tuple[str, ...] | None = None
    """Prune the graph to these outputs before opening (None: run the graph as it is)."""
    threads: int | None = None
    """Intra-op threads: None for every core (with `exclusive` runs), 1 on a cluster."""

    def session(self, verified: bytes | None = None) -> Session:
        """This process's session of the model, opened (and the file checked) on first use;
        from ``verified`` where the caller has already read the file with `verified_bytes`."""
        with _opening:
            if self in _sessions:
                _sessions.move_to_end(self)
                return _sessions[self]
            session = self._open(verified)
            _sessions[self] = session
            while len(_sessions) > OPEN_SESSIONS:
                _sessions.popitem(last=False)
            return session

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold around a unit of work (a tile, a slice): an every-core session runs one at a
        time in a process; one-thread sessions run side by side."""
        return _all_cores if self.threads is None else contextlib.nullcontext()

    def _open(self, verified: bytes | None = None) -> Session:
        model = self.verified_bytes() if verified is None else verified
        if self.outputs is not None:
            model = prune_outputs(model, list(self.outputs))
        return open_session(model, self.device, threads=self.threads)

    def verified_bytes(self) -> bytes:
        """The file's bytes, checked against the registered sha256 (`ModelFileError` if not)."""
        where = f"on {socket.gethostname()}"
        try:
            data = Path(self.path).read_bytes()
        except OSError as err:
            raise ModelFileError(
                f"{self.path}: the ONNX file of {self.ref} is not readable {where} ({err}); on "
                "a cluster, share the fusion cache folder with the workers or pull the model "
                "on each into the same FUSION_CACHE"
            ) from err
        found = hash_bytes(data)
        if found != self.sha256.removeprefix("sha256:"):
            raise ModelFileError(
                f"{self.path}: expected the ONNX file of {self.ref} with sha256 {self.sha256}, "
                f"found {found} {where}; pull the model again"
            )
        return data
