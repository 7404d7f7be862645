"""Checks at level ``data``: every value of every channel, block by block.

Memory is bounded by the block size (about `BLOCK_BYTES`), never by the array: blocks are
unions of whole chunks (or shards), so each stored chunk is read and decoded exactly once.
Each block is one task, run on this process's threads or on a dask.distributed cluster's
workers; the findings are merged in block order, so the report is the same either way.
Asked to, a task also hashes the chunks it reads (for the chunk-manifest checks) and returns
their digests with its findings, so every chunk is still read once, wherever it is read.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .._scheduler import ordered_map
from ..store._digest_store import DigestLog, recording
from ..store._manifest import ChunkDigest
from ..store._source import ArrayNode, Reader
from ._metadata import ChannelInfo
from ._report import ValidationReport

__all__ = ["BLOCK_BYTES", "check_data", "iter_blocks"]

BLOCK_BYTES = 32 * 2**20
QUAT_NORM_TOLERANCE = 1e-3

Progress = Callable[[int, int], None]
Digests = dict[str, ChunkDigest | None]
"""Store key → digest of each object read (None: absent, zarr read the fill value)."""


def iter_blocks(array: ArrayNode, target_bytes: int = BLOCK_BYTES) -> Iterator[tuple[slice, ...]]:
    """Yield selections that tile the array in chunk-aligned blocks of about ``target_bytes``."""
    shape = array.shape
    if any(n == 0 for n in shape):
        return
    if not shape:
        yield ()
        return
    itemsize = array.dtype.itemsize if array.dtype is not None else 1
    block = [max(1, min(b, n)) for b, n in zip(array.block_shape, shape, strict=True)]
    for axis in reversed(range(len(shape))):
        size = int(np.prod(block)) * itemsize
        factor = max(1, target_bytes // max(size, 1))
        grown = min(shape[axis], block[axis] * factor)
        block[axis] = grown
        if grown < shape[axis]:
            break
    starts = [range(0, n, b) for n, b in zip(shape, block, strict=True)]
    for corner in itertools.product(*starts):
        yield tuple(slice(c, min(c + b, n)) for c, b, n in zip(corner, block, shape, strict=True))


class _Tally:
    """Counts violations of one rule and remembers where the first one was.

    A block's tally is made where the block is read (on a cluster's worker, perhaps); the
    channel's is the `merge` of its blocks' tallies in block order, which gives the same
    count, first position and examples as one tally updated block after block.
    """

    def __init__(self) -> None:
        self.count = 0
        self.examples: set[float] = set()
        self.first: tuple[int, ...] | None = None

    def add(self, mask: np.ndarray, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        n = int(np.count_nonzero(mask))
        if not n:
            return
        self.count += n
        if self.first is None:
            local = np.unravel_index(int(np.argmax(mask)), mask.shape)
            self.first = tuple(int(s.start + i) for s, i in zip(sel, local, strict=False))
        if len(self.examples) < 8:
            values = block[mask] if block.shape == mask.shape else np.empty(0)
            self.examples.update(np.unique(values)[:8].tolist())

    def merge(self, later: _Tally) -> None:
        """Take in the tally of a later block (as `add` on its block would have)."""
        self.count += later.count
        if self.first is None:
            self.first = later.first
        if len(self.examples) < 8:
            self.examples.update(later.examples)

    def where(self) -> str:
        if self.first is None:
            return ""
        names = ("z", "y", "x", "c")
        return (
            " (first at "
            + ", ".join(f"{n}={i}" for n, i in zip(names, self.first, strict=False))
            + ")"
        )


Tallies = dict[str, _Tally]


class _Rule:
    """The value rules of one kind of channel. `inspect` checks one block wherever it is read
    and returns that block's tallies, one per rule name in ``tallies``; `finish` turns the
    channel's merged tallies into findings. A rule holds only its parameters, so it pickles
    small for a cluster's workers."""

    tallies: tuple[str, ...] = ()

    def inspect(self, block: np.ndarray, sel: tuple[slice, ...]) -> Tallies:
        found = {name: _Tally() for name in self.tallies}
        self.check(block, sel, found)
        return found

    def check(self, block: np.ndarray, sel: tuple[slice, ...], found: Tallies) -> None:
        raise NotImplementedError

    def finish(self, path: str, found: Tallies, report: ValidationReport) -> None:
        raise NotImplementedError


class _LabelRule(_Rule):
    """Labels within flag_values. Fast path: a block whose [min, max] range holds only allowed
    values (the usual 0..n-1 labels) needs two reductions and nothing else."""

    tallies = ("bad",)

    def __init__(self, flag_values: list[int]):
        self.flag_values = np.array(sorted(flag_values), dtype=np.int64)
        low, high = int(self.flag_values[0]), int(self.flag_values[-1])
        self.low = low
        allowed = np.zeros(high - low + 1, dtype=np.int64)
        allowed[self.flag_values - low] = 1
        self.allowed_before = np.concatenate([[0], np.cumsum(allowed)])

    def _range_is_allowed(self, lo: int, hi: int) -> bool:
        top = len(self.allowed_before) - 1
        if lo < self.low or hi - self.low >= top:
            return False
        count = self.allowed_before[hi - self.low + 1] - self.allowed_before[lo - self.low]
        return int(count) == hi - lo + 1

    def check(self, block: np.ndarray, sel: tuple[slice, ...], found: Tallies) -> None:
        if block.size == 0 or self._range_is_allowed(int(block.min()), int(block.max())):
            return
        found["bad"].add(~np.isin(block, self.flag_values), block, sel)

    def finish(self, path: str, found: Tallies, report: ValidationReport) -> None:
        bad = found["bad"]
        if bad.count:
            values = sorted(int(v) for v in bad.examples)
            report.add(
                "data.label-values",
                path,
                f"expected only flag_values {self.flag_values.tolist()}, found "
                f"{bad.count} voxel(s) holding {values}{bad.where()}",
                attribute="flag_values",
            )


class _FloatRule(_Rule):
    tallies = ("not_finite", "outside")

    def __init__(self, fraction: bool):
        self.fraction = fraction

    def check(self, block: np.ndarray, sel: tuple[slice, ...], found: Tallies) -> None:
        low, high = np.min(block), np.max(block)
        finite = bool(np.isfinite(low) and np.isfinite(high))
        if not finite:
            found["not_finite"].add(~np.isfinite(block), block, sel)
        if self.fraction and (not finite or low < 0 or high > 1):
            with np.errstate(invalid="ignore"):
                found["outside"].add((block < 0) | (block > 1), block, sel)

    def finish(self, path: str, found: Tallies, report: ValidationReport) -> None:
        not_finite, outside = found["not_finite"], found["outside"]
        if not_finite.count:
            report.add(
                "data.not-finite",
                path,
                f"expected finite values, found {not_finite.count} NaN or inf{not_finite.where()}",
            )
        if outside.count:
            shown = sorted(outside.examples)[:4]
            report.add(
                "data.fraction-range",
                path,
                f"expected fractions in [0, 1], found {outside.count} value(s) outside, "
                f"e.g. {shown}{outside.where()}",
            )


class _QuaternionRule(_Rule):
    tallies = ("partial_nan", "bad_norm")

    def check(self, block: np.ndarray, sel: tuple[slice, ...], found: Tallies) -> None:
        wide = block.astype(np.float64, copy=False)
        norm2 = np.einsum("...i,...i->...", wide, wide)
        low, high = (1 - QUAT_NORM_TOLERANCE) ** 2, (1 + QUAT_NORM_TOLERANCE) ** 2
        with np.errstate(invalid="ignore"):
            ok = (norm2 >= low) & (norm2 <= high)
        if ok.all():
            return
        nan_count = np.isnan(block).sum(axis=-1)
        whole_nan = nan_count == 4
        found["partial_nan"].add((nan_count > 0) & ~whole_nan, norm2, sel)
        found["bad_norm"].add(~ok & (nan_count == 0), np.sqrt(norm2), sel)

    def finish(self, path: str, found: Tallies, report: ValidationReport) -> None:
        partial_nan, bad_norm = found["partial_nan"], found["bad_norm"]
        if partial_nan.count:
            report.add(
                "data.not-finite",
                path,
                f"expected each quaternion finite, or all four components NaN for 'no "
                f"orientation', found {partial_nan.count} partly NaN{partial_nan.where()}",
            )
        if bad_norm.count:
            norms = [round(v, 4) for v in sorted(bad_norm.examples)[:4]]
            report.add(
                "data.quat-norm",
                path,
                f"expected unit quaternions (|q| within {QUAT_NORM_TOLERANCE:g} of 1), found "
                f"{bad_norm.count} with norms such as {norms}{bad_norm.where()}",
            )


class _ReadOnlyRule(_Rule):
    """Channels with no value rule (ids, booleans): read anyway, so corrupt chunks are found."""

    def check(self, block: np.ndarray, sel: tuple[slice, ...], found: Tallies) -> None:
        return None

    def finish(self, path: str, found: Tallies, report: ValidationReport) -> None:
        return None


def _rule_for(info: ChannelInfo) -> _Rule | None:
    array, attrs = info.array, info.attrs
    if array.dtype is None:
        return None
    if info.extra_dim == "quat" and array.dtype.kind == "f":
        return _QuaternionRule()
    if attrs is not None and attrs.flag_values is not None and array.dtype.kind in "iu":
        return _LabelRule(attrs.flag_values)
    if array.dtype.kind == "f":
        return _FloatRule(fraction=info.extra_dim == "element")
    return _ReadOnlyRule()


@dataclass(frozen=True)
class _BlockResult:
    sel: tuple[slice, ...]
    nbytes: int
    tallies: Tallies | None
    error: str | None
    """``Type: message`` of a block that could not be read (a finding, not a crash)."""
    digests: Digests
    """The chunks read for this block and their digests; empty unless asked to hash."""


def _inspect_block(
    rule: _Rule, read: Reader, hash_chunks: bool, sel: tuple[slice, ...]
) -> _BlockResult:
    """One task: read a block and check it, where the block is read. With ``hash_chunks``,
    ``read`` is a `ZarrReader` and the block is read through a `DigestStore` made here."""
    log = DigestLog()
    if hash_chunks:
        read = recording(read, log)  # type: ignore[arg-type]
    try:
        block = read(sel)
    except Exception as err:  # corrupt or missing chunk
        return _BlockResult(sel, 0, None, f"{type(err).__name__}: {err}", log.digests)
    return _BlockResult(sel, block.nbytes, rule.inspect(block, sel), None, log.digests)


def check_data(
    channels: list[ChannelInfo],
    report: ValidationReport,
    progress: Progress | None = None,
    *,
    threads: int = 2,
    on_cluster: bool = False,
    hash_chunks: bool = False,
) -> Digests:
    """Read every block of every channel once and check its values.

    Each block is one task (`ordered_map`): on the active dask.distributed cluster's workers
    when ``on_cluster`` (the caller knows the workers can open the store), else on
    ``threads`` threads here (decompression and the numpy reductions release the GIL). At most
    a window of blocks is in flight; their tallies are merged in block order, so the report is
    the same wherever the blocks were checked.

    With ``hash_chunks`` (channels read from a store: their readers are `ZarrReader`), every
    chunk read is hashed as it is read; returns those digests (empty otherwise).
    """
    digests: Digests = {}
    total = sum(info.array.nbytes for info in channels)
    done = 0
    if progress is not None:
        progress(0, total)
    for info in channels:
        rule = _rule_for(info)
        if rule is None:
            done += info.array.nbytes
            if progress is not None:
                progress(done, total)
            continue
        found = {name: _Tally() for name in rule.tallies}
        failures: list[_BlockResult] = []
        task = functools.partial(_inspect_block, rule, info.array.read, hash_chunks)
        blocks = iter_blocks(info.array, BLOCK_BYTES)
        for result in ordered_map(task, blocks, threads=threads, on_cluster=on_cluster):
            digests.update(result.digests)
            if result.tallies is None:
                failures.append(result)
                continue
            for name, tally in result.tallies.items():
                found[name].merge(tally)
            done += result.nbytes
            if progress is not None:
                progress(done, total)
        rule.finish(info.array.path, found, report)
        if failures:
            corner = ", ".join(str(s.start) for s in failures[0].sel)
            report.add(
                "data.unreadable-chunk",
                info.array.path,
                f"{len(failures)} block(s) could not be read; first at index ({corner}): "
                f"{failures[0].error}",
            )
    return digests
