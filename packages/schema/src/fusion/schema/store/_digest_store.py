"""`DigestStore`: a zarr store wrapper that hashes every whole object passing through it.

Reading through it, the validator learns the SHA-256 of each chunk zarr reads, without a
second read; writing through it, `write` learns the digest of each chunk it stores, without
reading anything back. Ranged reads (inside shards) are passed on and not recorded.

A log lives in the process that made it: a store pickled to a cluster's workers records into
the workers' copies. So the validator's block tasks each read through a fresh `recording`
reader, made where the task runs, and return what it logged with their findings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING

from zarr.abc.store import ByteRequest, Store
from zarr.storage import WrapperStore

from ._manifest import ChunkDigest, digest
from ._source import ZarrReader

if TYPE_CHECKING:
    from zarr.core.buffer import Buffer, BufferPrototype

__all__ = ["DigestLog", "DigestStore", "recording"]


class DigestLog:
    """What a `DigestStore` saw: ``key → ChunkDigest`` for whole objects read or written,
    ``key → None`` for objects read but absent (zarr then uses the fill value)."""

    def __init__(self) -> None:
        self.digests: dict[str, ChunkDigest | None] = {}


def recording(read: ZarrReader, log: DigestLog) -> ZarrReader:
    """``read``'s array read through a `DigestStore` that records into ``log``."""
    return read.through(lambda store: DigestStore(store, log))


class DigestStore(WrapperStore[Store]):
    """Passes everything to the wrapped store and records digests in its `DigestLog`."""

    def __init__(self, store: Store, log: DigestLog | None = None):
        super().__init__(store)
        self.log = DigestLog() if log is None else log

    def _with_store(self, store: Store) -> DigestStore:
        return type(self)(store, self.log)

    async def _record(self, key: str, value: Buffer | None) -> None:
        if value is None:
            self.log.digests[key] = None
        else:
            self.log.digests[key] = await asyncio.to_thread(digest, value.as_buffer_like())

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        value = await self._store.get(key, prototype, byte_range)
        if byte_range is None:
            await self._record(key, value)
        return value

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def set(self, key: str, value: Buffer) -> None:
        await self._store.set(key, value)
        await self._record(key, value)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        if not await self._store.exists(key):
            await self.set(key, value)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        await asyncio.gather(*(self.set(key, value) for key, value in values))
