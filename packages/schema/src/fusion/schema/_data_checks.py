"""Checks at level ``data``: every value of every channel, block by block.

Memory is bounded by the block size (about `BLOCK_BYTES`), never by the array: blocks are
unions of whole chunks (or shards), so each stored chunk is read and decoded exactly once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._metadata_checks import ChannelInfo
from ._report import ValidationReport
from ._source import ArrayNode

__all__ = ["BLOCK_BYTES", "bounded_map", "check_data", "iter_blocks"]

BLOCK_BYTES = 32 * 2**20
QUAT_NORM_TOLERANCE = 1e-3

Progress = Callable[[int, int], None]


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
    """Counts violations of one rule over a channel and remembers where the first one was."""

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

    def where(self) -> str:
        if self.first is None:
            return ""
        names = ("z", "y", "x", "c")
        return (
            " (first at "
            + ", ".join(f"{n}={i}" for n, i in zip(names, self.first, strict=False))
            + ")"
        )


class _Checker:
    """Checks one channel's blocks; reports at the end."""

    def __init__(self, info: ChannelInfo):
        self.info = info
        self.path = info.array.path

    def update(self, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        raise NotImplementedError

    def finish(self, report: ValidationReport) -> None:
        raise NotImplementedError


class _LabelChecker(_Checker):
    """Labels within flag_values. Fast path: a block whose [min, max] range holds only allowed
    values (the usual 0..n-1 labels) needs two reductions and nothing else."""

    def __init__(self, info: ChannelInfo, flag_values: list[int]):
        super().__init__(info)
        self.flag_values = np.array(sorted(flag_values), dtype=np.int64)
        low, high = int(self.flag_values[0]), int(self.flag_values[-1])
        self.low = low
        allowed = np.zeros(high - low + 1, dtype=np.int64)
        allowed[self.flag_values - low] = 1
        self.allowed_before = np.concatenate([[0], np.cumsum(allowed)])
        self.bad = _Tally()

    def _range_is_allowed(self, lo: int, hi: int) -> bool:
        top = len(self.allowed_before) - 1
        if lo < self.low or hi - self.low >= top:
            return False
        count = self.allowed_before[hi - self.low + 1] - self.allowed_before[lo - self.low]
        return int(count) == hi - lo + 1

    def update(self, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        if block.size == 0 or self._range_is_allowed(int(block.min()), int(block.max())):
            return
        self.bad.add(~np.isin(block, self.flag_values), block, sel)

    def finish(self, report: ValidationReport) -> None:
        if self.bad.count:
            values = sorted(int(v) for v in self.bad.examples)
            report.add(
                "data.label-values",
                self.path,
                f"expected only flag_values {self.flag_values.tolist()}, found "
                f"{self.bad.count} voxel(s) holding {values}{self.bad.where()}",
                attribute="flag_values",
            )


class _FloatChecker(_Checker):
    def __init__(self, info: ChannelInfo, fraction: bool):
        super().__init__(info)
        self.fraction = fraction
        self.not_finite = _Tally()
        self.outside = _Tally()

    def update(self, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        low, high = np.min(block), np.max(block)
        finite = bool(np.isfinite(low) and np.isfinite(high))
        if not finite:
            self.not_finite.add(~np.isfinite(block), block, sel)
        if self.fraction and (not finite or low < 0 or high > 1):
            with np.errstate(invalid="ignore"):
                self.outside.add((block < 0) | (block > 1), block, sel)

    def finish(self, report: ValidationReport) -> None:
        if self.not_finite.count:
            report.add(
                "data.not-finite",
                self.path,
                f"expected finite values, found {self.not_finite.count} NaN or inf"
                f"{self.not_finite.where()}",
            )
        if self.outside.count:
            found = sorted(self.outside.examples)[:4]
            report.add(
                "data.fraction-range",
                self.path,
                f"expected fractions in [0, 1], found {self.outside.count} value(s) outside, "
                f"e.g. {found}{self.outside.where()}",
            )


class _QuaternionChecker(_Checker):
    def __init__(self, info: ChannelInfo):
        super().__init__(info)
        self.partial_nan = _Tally()
        self.bad_norm = _Tally()

    def update(self, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        wide = block.astype(np.float64, copy=False)
        norm2 = np.einsum("...i,...i->...", wide, wide)
        low, high = (1 - QUAT_NORM_TOLERANCE) ** 2, (1 + QUAT_NORM_TOLERANCE) ** 2
        with np.errstate(invalid="ignore"):
            ok = (norm2 >= low) & (norm2 <= high)
        if ok.all():
            return
        nan_count = np.isnan(block).sum(axis=-1)
        whole_nan = nan_count == 4
        self.partial_nan.add((nan_count > 0) & ~whole_nan, norm2, sel)
        self.bad_norm.add(~ok & (nan_count == 0), np.sqrt(norm2), sel)

    def finish(self, report: ValidationReport) -> None:
        if self.partial_nan.count:
            report.add(
                "data.not-finite",
                self.path,
                f"expected each quaternion finite, or all four components NaN for 'no "
                f"orientation', found {self.partial_nan.count} partly NaN"
                f"{self.partial_nan.where()}",
            )
        if self.bad_norm.count:
            norms = [round(v, 4) for v in sorted(self.bad_norm.examples)[:4]]
            report.add(
                "data.quat-norm",
                self.path,
                f"expected unit quaternions (|q| within {QUAT_NORM_TOLERANCE:g} of 1), found "
                f"{self.bad_norm.count} with norms such as {norms}{self.bad_norm.where()}",
            )


class _ReadOnlyChecker(_Checker):
    """Channels with no value rule (ids, booleans): read anyway, so corrupt chunks are found."""

    def update(self, block: np.ndarray, sel: tuple[slice, ...]) -> None:
        return None

    def finish(self, report: ValidationReport) -> None:
        return None


def _checker_for(info: ChannelInfo) -> _Checker | None:
    array, attrs = info.array, info.attrs
    if array.dtype is None:
        return None
    if info.extra_dim == "quat" and array.dtype.kind == "f":
        return _QuaternionChecker(info)
    if attrs is not None and attrs.flag_values is not None and array.dtype.kind in "iu":
        return _LabelChecker(info, attrs.flag_values)
    if array.dtype.kind == "f":
        return _FloatChecker(info, fraction=info.extra_dim == "element")
    return _ReadOnlyChecker(info)


def check_data(
    channels: list[ChannelInfo],
    report: ValidationReport,
    progress: Progress | None = None,
    *,
    threads: int = 2,
) -> None:
    """Read every block of every channel once and check its values.

    Blocks are read and checked by ``threads`` workers (decompression and the numpy
    reductions release the GIL); at most ``2 * threads`` blocks are in memory at once.
    """
    total = sum(info.array.nbytes for info in channels)
    done = 0
    if progress is not None:
        progress(0, total)
    for info in channels:
        checker = _checker_for(info)
        if checker is None:
            done += info.array.nbytes
            if progress is not None:
                progress(done, total)
            continue
        failures: list[tuple[tuple[slice, ...], BaseException]] = []

        def work(sel: tuple[slice, ...], _array: ArrayNode = info.array) -> tuple:
            try:
                return sel, _array.read(sel), None
            except Exception as read_error:  # corrupt or missing chunk: a finding, not a crash
                return sel, None, read_error

        with ThreadPoolExecutor(max_workers=threads) as pool:
            for sel, block, err in bounded_map(pool, work, iter_blocks(info.array), threads * 2):
                if err is not None:
                    failures.append((sel, err))
                else:
                    checker.update(block, sel)
                    done += block.nbytes
                    if progress is not None:
                        progress(done, total)
        checker.finish(report)
        if failures:
            sel, err = failures[0]
            corner = ", ".join(str(s.start) for s in sel)
            report.add(
                "data.unreadable-chunk",
                info.array.path,
                f"{len(failures)} block(s) could not be read; first at index ({corner}): "
                f"{type(err).__name__}: {err}",
            )


def bounded_map(pool: ThreadPoolExecutor, fn, items, window: int):
    """Like ``pool.map`` but with at most ``window`` results pending, in order."""
    pending = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()
