"""Activities that end when their data is written.

A producer whose channels are lazy (dask arrays made tile by tile, slices labelled on demand)
builds its tree in milliseconds; the work happens later, when `fusion.schema.write` stores the
arrays. Such a producer records its activity's times as usual (``ended`` at build time, never
before ``started``) and marks the activity with `end_when_written`. `write` then sets the
activity's ``ended``, the root's ``modified``, and ``created`` where it was that activity's end,
to the time the arrays finished computing, before the store is marked complete.

The mark is the root attribute ``fusion_ends_when_written`` (a list of activity ids) beside
``fusion``. `write` never stores it, and the validator ignores attributes other than ``fusion``.
An eager producer does not mark anything, and its times are kept as they are.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import xarray as xr

from .._errors import SchemaError

__all__ = ["ENDS_WHEN_WRITTEN", "end_when_written", "ends_when_written", "with_written_times"]

ENDS_WHEN_WRITTEN = "fusion_ends_when_written"
"""Root attribute listing the activities whose ``ended`` `write` sets; never stored."""


def end_when_written(tree: xr.DataTree, *activity_ids: str) -> xr.DataTree:
    """Mark activities of ``tree`` whose channels are computed only when it is written.

    The mark is added to ``tree``'s root attributes in place (no ids: nothing is added);
    ``tree`` is returned.

    Raises
    ------
    SchemaError
        An id is not an activity of the tree's provenance.
    """
    if not activity_ids:
        return tree
    marked = {*tree.attrs.get(ENDS_WHEN_WRITTEN, ()), *activity_ids}
    _check_known(tree.attrs, marked)
    tree.attrs[ENDS_WHEN_WRITTEN] = sorted(marked)
    return tree


def ends_when_written(attrs: Mapping[str, Any]) -> list[str]:
    """The activities the root attributes ``attrs`` mark, checked against the provenance.

    Raises
    ------
    SchemaError
        A marked id is not an activity of the provenance.
    """
    marked = list(attrs.get(ENDS_WHEN_WRITTEN, ()))
    _check_known(attrs, marked)
    return marked


def with_written_times(
    fusion: Mapping[str, Any], activity_ids: Collection[str], written: dt.datetime
) -> dict[str, Any]:
    """A copy of the root's ``fusion`` attribute with ``activity_ids`` ended at ``written``.

    Each activity's ``ended`` becomes ``written`` (its ``started`` if that is later: a clock
    set back never makes an activity end before it began). ``modified`` becomes the later of
    itself and ``written``; ``created`` becomes ``written`` where it was the old end of one of
    these activities, i.e. where the dataset came into being with it.
    """
    written = _parse(_text(written))  # to the millisecond, as it is stored
    new = copy.deepcopy(dict(fusion))
    activities = new["provenance"]["activities"]
    old_ends = {_parse(activities[i]["ended"]) for i in activity_ids}
    for activity_id in activity_ids:
        activity = activities[activity_id]
        activity["ended"] = _latest(activity["started"], written)
    if activity_ids:
        if _parse(new["created"]) in old_ends:
            new["created"] = _text(written)
        new["modified"] = _latest(new["modified"], written)
    return new


def _check_known(attrs: Mapping[str, Any], activity_ids: Collection[str]) -> None:
    fusion = attrs.get("fusion")
    provenance = fusion.get("provenance") if isinstance(fusion, Mapping) else None
    activities = provenance.get("activities") if isinstance(provenance, Mapping) else None
    unknown = sorted(set(activity_ids) - set(activities or {}))
    if unknown:
        raise SchemaError(
            f"{ENDS_WHEN_WRITTEN} names {unknown}, which are not activities of the root's "
            f"fusion provenance (it has {sorted(activities or {})})"
        )


def _latest(recorded: str, written: dt.datetime) -> str:
    return recorded if _parse(recorded) > written else _text(written)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _text(time: dt.datetime) -> str:
    """ISO 8601, UTC, milliseconds: the producers' format."""
    return time.astimezone(dt.UTC).isoformat(timespec="milliseconds")
