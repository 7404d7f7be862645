"""Where dask work runs: this process's threads, or a dask.distributed cluster.

`use_scheduler` is the one switch every verb shares (``--scheduler``):

- ``default``: dask's threaded scheduler in this process, as without the switch;
- ``local``: a ``distributed.LocalCluster`` of worker processes on this machine, started for
  the duration of the ``with`` block (``workers`` processes of one thread each);
- ``tcp://HOST:PORT``: a ``distributed.Client`` connected to a running scheduler there.

Inside the block a cluster's client is dask's default, so every ``.compute()`` and every write
of a lazy dataset runs on its workers; `active_client` is how library code asks which one is
in use and `scheduler_facts` what provenance records of it. dask.distributed is imported only
when a cluster is asked for (``pip install 'fusion-schema[cluster]'``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal
from urllib.parse import urlsplit

from ._errors import FusionError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "SchedulerError",
    "active_client",
    "check_reachable",
    "default_workers",
    "ordered_map",
    "parse_scheduler",
    "scheduler_facts",
    "use_scheduler",
]

CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for a ``tcp://`` scheduler to answer."""

SchedulerKind = Literal["default", "local", "tcp"]
_KIND: contextvars.ContextVar[str | None] = contextvars.ContextVar("fusion_scheduler", default=None)


class SchedulerError(FusionError, ConnectionError):
    """The scheduler asked for cannot be started or reached, or its workers cannot reach a
    store. A ``ConnectionError`` (``OSError``): the ``fusion`` command exits 2."""


def parse_scheduler(spec: str) -> tuple[SchedulerKind, str | None]:
    """``(kind, address)`` of a ``--scheduler`` value; `ValueError` for anything else.

    >>> parse_scheduler("local"), parse_scheduler("tcp://10.0.0.5:8786")
    (('local', None), ('tcp', 'tcp://10.0.0.5:8786'))
    """
    if spec in ("default", "local"):
        return spec, None  # type: ignore[return-value]
    if spec.startswith("tcp://"):
        parts = urlsplit(spec)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname and port and parts.path in ("", "/"):
            return "tcp", spec
    raise ValueError(f"--scheduler expects default, local or tcp://HOST:PORT, got {spec!r}")


def default_workers() -> int:
    """Worker processes of ``--scheduler local`` without ``--workers``: one per usable core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def use_scheduler(
    spec: str = "default",
    *,
    workers: int | None = None,
    processes: bool = True,
    timeout: float = CONNECT_TIMEOUT_S,
) -> Iterator[Any]:
    """Run the dask work of the ``with`` block on the scheduler ``spec`` names.

    Parameters
    ----------
    spec
        ``default``, ``local`` or ``tcp://HOST:PORT`` (see the module docstring).
    workers
        Worker processes of a ``local`` cluster (default: `default_workers`); an error with
        any other scheduler, whose size is not ours to choose.
    processes
        ``local`` only: workers in separate processes (default, what ``--scheduler local``
        does) or as threads of this one (quick to start; for tests).
    timeout
        Seconds to wait for a ``tcp://`` scheduler.

    Yields
    ------
    distributed.Client or None
        The cluster's client, dask's default inside the block; None for ``default``.

    Raises
    ------
    ValueError
        ``spec`` is not one of the three forms, or ``workers`` is given without ``local``.
    SchedulerError
        The ``tcp://`` scheduler does not answer within ``timeout``, or dask.distributed is
        not installed.
    """
    kind, address = parse_scheduler(spec)
    if workers is not None and kind != "local":
        raise ValueError(f"--workers sizes a local cluster; it does not apply to {spec!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers expects at least 1, got {workers}")
    if kind == "default":
        yield None
        return
    distributed = _import_distributed(spec)
    token = _KIND.set(kind)
    try:
        if kind == "local":
            with _local_client(distributed, workers or default_workers(), processes) as client:
                yield client
        else:
            assert address is not None
            with _connect(distributed, address, timeout) as client:
                yield client
    finally:
        _KIND.reset(token)


@contextlib.contextmanager
def _local_client(distributed: Any, workers: int, processes: bool) -> Iterator[Any]:
    """A client of a LocalCluster of ``workers`` one-thread workers, both closed at the end."""
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",  # a free port: 8787 may be taken
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=True) as client,
    ):
        yield client


def _import_distributed(spec: str) -> Any:
    try:
        import distributed
    except ImportError as err:
        raise SchedulerError(
            f"--scheduler {spec} needs dask.distributed: pip install 'fusion-schema[cluster]'"
        ) from err
    return distributed


def _connect(distributed: Any, address: str, timeout: float) -> Any:
    """A client of the scheduler at ``address``; a refused port fails at once, not at timeout."""
    parts = urlsplit(address)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
        return distributed.Client(address, timeout=timeout, set_as_default=True)
    except (OSError, TimeoutError) as err:
        reason = (
            f"no answer within {timeout:g} s"
            if isinstance(err, TimeoutError)
            else f"{type(err).__name__}: {err}"
        )
        raise SchedulerError(
            f"cannot reach the dask scheduler at {address} ({reason}); is `dask scheduler` "
            "running there and the port open?"
        ) from err


def active_client() -> Any:
    """The dask.distributed client that ``.compute()`` would use now, or None."""
    if "distributed" not in sys.modules:  # no cluster without it; keep dask unimported too
        return None
    import dask.base
    from distributed import Client

    client = getattr(dask.base.get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


def _in_process(client: Any) -> bool:
    """True when every worker of ``client`` is a thread of this process."""
    return all(address.startswith("inproc://") for address in client.nthreads())


def scheduler_facts() -> dict[str, object]:
    """What an activity records of where its dask work ran: ``{"scheduler": "default"}``, or
    the kind (``local``, ``tcp``; ``distributed`` for a client made outside `use_scheduler`)
    with the number of workers and of their threads."""
    client = active_client()
    if client is None:
        return {"scheduler": "default"}
    threads = client.nthreads()
    return {
        "scheduler": _KIND.get() or "distributed",
        "scheduler_workers": len(threads),
        "scheduler_threads": int(sum(threads.values())),
    }


def check_reachable(location: str | os.PathLike[str], role: str = "output") -> None:
    """Refuse a ``memory://`` store when the work runs in other processes: each worker has its
    own memory, so what they write there is lost and what they read there is empty."""
    text = os.fspath(location)
    client = active_client()
    if client is None or not text.startswith("memory://") or _in_process(client):
        return
    raise SchedulerError(
        f"{text}: a memory:// {role} lives in this process, and the cluster's workers cannot "
        "reach it; use a folder, a .zip or an object-store URL, or --scheduler default"
    )


def ordered_map(
    fn: Callable[[Any], Any], items: Iterable[Any], *, threads: int = 2, on_cluster: bool = True
) -> Iterator[Any]:
    """``fn(item)`` for every item, results in the items' order, with a bounded window of them
    pending: on the active cluster's workers (when there is one and ``on_cluster``), else on
    ``threads`` threads here. ``fn`` and the items travel to the workers by pickle."""
    client = active_client() if on_cluster else None
    if client is None:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            yield from _bounded(pool.submit, fn, items, 2 * threads)
        return
    window = 2 * max(1, sum(client.nthreads().values()))
    yield from _bounded(lambda f, x: client.submit(f, x, pure=False), fn, items, window)


def _bounded(submit: Callable, fn: Callable, items: Iterable[Any], window: int) -> Iterator[Any]:
    """Results of ``submit(fn, item)`` futures, in order, at most ``window`` pending."""
    pending: deque = deque()
    for item in items:
        pending.append(submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
