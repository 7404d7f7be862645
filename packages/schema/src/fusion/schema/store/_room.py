"""Room on disk for a write: refuse, before anything is written, a dataset the target's disk
cannot hold.

What a store will take on disk is known only once its chunks are compressed, so the check is
one-sided: a write is refused only when the data could not fit even compressed
`COMPRESSION_BOUND` times (ten times what SliceGAN's phase labels compress, 9.3×, measured at
256³ with the writer's zstd); one that fits only if it compresses well goes ahead with a note
(`room_note`). A ``.zip`` is written as a folder first and then zipped beside it, so it needs
twice its size. Object stores and other URLs say nothing of their room and are not checked: a
write that runs out of room there fails as any failed write does (the store stays marked
incomplete).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from fusion.base import WriteError, human_bytes

__all__ = ["COMPRESSION_BOUND", "NoRoomError", "Room", "check_room", "room_for", "room_note"]

COMPRESSION_BOUND = 100
"""A dataset is refused where even this many times compressed it would not fit."""


class NoRoomError(WriteError):
    """The target's disk cannot hold the dataset (nothing was written)."""


@dataclass(frozen=True)
class Room:
    """A write's size against the free space where it goes."""

    location: str
    volume: Path
    """The existing folder whose disk the write goes to."""
    nbytes: int
    """The data, uncompressed; twice over for a ``.zip`` (folder, then archive)."""
    free: int


def room_for(location: str | os.PathLike[str], nbytes: int) -> Room | None:
    """The room a write of ``nbytes`` (uncompressed) to ``location`` has; None where the
    location is not on a local disk (an object store, ``memory://``)."""
    text = os.fspath(location)
    if "://" in text and not text.startswith("file://"):
        return None
    path = Path(text.removeprefix("file://")).absolute()
    volume = next((p for p in (path, *path.parents) if p.is_dir()), None)
    if volume is None:
        return None
    factor = 2 if text.endswith(".zip") else 1
    return Room(text, volume, factor * int(nbytes), shutil.disk_usage(volume).free)


def check_room(
    location: str | os.PathLike[str], nbytes: int, what: str = "the dataset"
) -> Room | None:
    """Refuse (`NoRoomError`) a write of ``nbytes`` uncompressed to ``location`` that could not
    fit on its disk even compressed `COMPRESSION_BOUND` times; ``what`` names the data in the
    message (e.g. "a 100000×100000×100000 uint8 phase channel"). Returns the `Room`, or None
    where the location is not on a local disk."""
    room = room_for(location, nbytes)
    if room is not None and room.nbytes > COMPRESSION_BOUND * room.free:
        raise NoRoomError(
            f"{room.location}: not enough room: {what} is {human_bytes(room.nbytes)} "
            f"uncompressed and {room.volume} has {human_bytes(room.free)} free, too little even "
            f"if it compressed {COMPRESSION_BOUND}× (phase labels compress about 9×); nothing "
            "was written"
        )
    return room


def room_note(room: Room | None) -> str | None:
    """A warning where the data fits only if it compresses: how well it must; else None."""
    if room is None or room.nbytes <= room.free:
        return None
    needed = room.nbytes / max(room.free, 1)
    return (
        f"note: {room.location} is {human_bytes(room.nbytes)} uncompressed and {room.volume} "
        f"has {human_bytes(room.free)} free: it fits only if it compresses {needed:.1f}× or "
        "better (phase labels compress about 9×)"
    )
