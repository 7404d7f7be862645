"""`validate`: check any target against the format and return a report; never raise on bad data."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from ..store._source import SUPPORTED_TARGETS, describe_target, open_group, tree_from_target
from ._chunk import ChunkAudit, check_listed
from ._data import Progress, check_data
from ._metadata import check_metadata
from ._report import ValidationReport

__all__ = ["validate"]


def validate(
    target: Any,
    level: Literal["metadata", "data"] = "metadata",
    *,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ValidationReport:
    """Validate a fused dataset against the format it declares.

    Parameters
    ----------
    target
        A local path (folder or ``.zip``), an fsspec URL (``s3://…``, ``https://…``,
        ``memory://…``), a ``zarr.Group`` or an ``xarray.DataTree``.
    level
        ``metadata`` checks attributes, dimensions, dtypes, shapes and the 1-D coordinates and
        reads no channel values; for a path or URL whose arrays have chunk manifests, it also
        lists the store once and reports every listed chunk that is absent; ``data`` also reads every chunk once and checks the values
        (labels within ``flag_values``, no NaN or inf, unit quaternions, fractions in [0, 1]);
        for a path or URL whose arrays have chunk manifests, also that every chunk listed is
        stored with the bytes listed and none other is (the chunks are hashed as they are read).
    storage_options
        Passed to fsspec for URLs (credentials, ``endpoint_url``).
    progress
        Called as ``progress(bytes_done, bytes_total)`` while values are checked.

    The values of a path or URL are checked block by block on the active dask.distributed
    cluster's workers when there is one (``with use_scheduler("local"): ...``), else on
    threads here; the report is the same. In-memory targets (a DataTree, a zarr group,
    ``memory://``) are always checked here: workers in other processes cannot see them.

    Returns
    -------
    ValidationReport
        Findings with their location, code and severity. ``report.ok`` is the verdict; call
        ``report.raise_for_errors()`` to turn it into an exception.

    Examples
    --------
    >>> from fusion.schema import make_example, validate
    >>> validate(make_example(size="tiny"), level="data").ok
    True
    """
    if level not in ("metadata", "data"):
        raise ValueError(f"level must be 'metadata' or 'data', got {level!r}")
    if not isinstance(target, SUPPORTED_TARGETS):
        raise TypeError(
            f"cannot validate a {type(target).__name__}: expected a path, an fsspec URL, "
            "a zarr.Group or an xarray.DataTree"
        )
    report = ValidationReport(target=describe_target(target), level=level)
    by_location = isinstance(target, str | os.PathLike)
    audit = ChunkAudit(target, storage_options) if by_location and level == "data" else None
    try:
        tree = tree_from_target(target, storage_options)
    except Exception as err:
        report.readable = False
        report.add("store.unreadable", "/", _unreadable_message(target, err))
        return report
    if "fusion_ome_view" in tree.attrs:
        return _check_ome_view(target, storage_options, report, level)
    try:
        channels = check_metadata(tree, report)
        if level == "metadata" and by_location:
            check_listed(target, storage_options, tree, report)
        if level == "data":
            hash_chunks = audit is not None and audit.start(tree, report)
            on_cluster = _workers_can_open(target)
            seen = check_data(
                channels, report, progress, on_cluster=on_cluster, hash_chunks=hash_chunks
            )
            if audit is not None:
                audit.finish(tree, seen, report)
    except Exception as err:  # a bug of ours must still give the user a report
        report.add(
            "validator.internal-error",
            "/",
            f"{type(err).__name__}: {err}; please report this with the store",
        )
    return report


def _check_ome_view(
    target: Any, storage_options: Mapping[str, Any] | None, report: ValidationReport, level: str
) -> ValidationReport:
    """Check an OME view (`fusion export ome-zarr`, spec/fusion-ome-1.md) by its own rules."""
    from ..ome._checks import check_view  # the view's writer imports this module

    try:
        group = open_group(target, storage_options)
        check_view(group, group.attrs["fusion_ome_view"], report, level)
    except Exception as err:  # a bug of ours must still give the user a report
        report.add("validator.internal-error", "/", f"{type(err).__name__}: {err}")
    return report


def _workers_can_open(target: Any) -> bool:
    """True for a path or URL that a cluster's workers can open themselves."""
    return isinstance(target, str | os.PathLike) and not os.fspath(target).startswith("memory://")


def _unreadable_message(target: Any, err: BaseException) -> str:
    where = os.fspath(target) if isinstance(target, str | os.PathLike) else describe_target(target)
    detail = str(err) or type(err).__name__
    return f"cannot open {where} as a Zarr group: {type(err).__name__}: {detail}"
