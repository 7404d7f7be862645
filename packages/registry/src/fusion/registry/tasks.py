"""The task seam: what a model entry must pass beyond the registry's own checks.

The registry knows files, hashes, cards and the cache; running a model is the business of the
package that implements its card's ``task`` (``generate-3d``, ``segment-2d``, ...). Such a
package subclasses `Task` and registers it in the entry-point group ``fusion.tasks`` under
the task name the cards use::

    [project.entry-points."fusion.tasks"]
    generate-3d = "fusion.models.tasks.generate3d:Generate3D"

`fusion registry check` asks each model entry's task for its card rules (`Task.card_problems`)
and for the rest of the checks (`Task.check`: load the model, reproduce the test tensors,
validate the wrapped output); the ``fusion`` command adds each task's verb
(`Task.register_cli`). `installed_tasks` loads them once; one that fails to load is a warning,
never a crash, and a card whose task is not installed is reported as skipped.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._card import ModelCard
    from ._report import EntryResult

__all__ = ["TASK_GROUP", "CheckRequest", "Task", "installed_tasks", "missing_task"]

TASK_GROUP = "fusion.tasks"


@dataclass(frozen=True)
class CheckRequest:
    """One registry entry as a task checks it: every file already verified against its hash."""

    ref: str
    """``model:name@version``."""
    sha256: str
    """SHA-256 of the artifact (for the provenance of a wrapped output)."""
    card: ModelCard
    artifact: Path
    """The verified model file in the cache."""
    test_tensors: Path
    """The verified ``.npz`` of the card's test tensors in the cache."""
    outputs_dir: str | None = None
    """Where outputs that do not reproduce are saved (None: a new temporary folder)."""


class Task(ABC):
    """A family of models sharing a card ``task``: its card rules, its check and its verb.

    Subclasses set `name` (the card task they serve, also the entry-point name) and implement
    `check`; `card_problems` and `register_cli` are optional.
    """

    name: str = ""
    """The card ``task`` this serves, e.g. ``generate-3d``."""
    description: str = ""
    """One line for listings."""

    def card_problems(self, card: ModelCard) -> list[str]:
        """What breaks this task's card rules (e.g. a generator needs ``latent``); [] if none."""
        return []

    @abstractmethod
    def check(self, request: CheckRequest, result: EntryResult) -> None:
        """Check one entry: append to ``result.passed``, ``.failures`` or ``.skipped``.

        Called after the registry's own checks passed (hash, card, test tensors readable);
        a failure is recorded, not raised (an exception is recorded as a failure too).
        """

    def register_cli(self, subparsers: argparse._SubParsersAction) -> None:  # noqa: B027
        """Add this task's verb to the ``fusion`` command (none by default)."""


@functools.cache
def installed_tasks() -> Mapping[str, Task]:
    """The tasks registered in ``fusion.tasks``, by card task name (loaded once).

    A task that fails to load, or whose `Task.name` is not its entry-point name, is left out
    with a warning, so that it cannot take the others down.
    """
    found: dict[str, Task] = {}
    for entry in sorted(entry_points(group=TASK_GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
            task = loaded() if isinstance(loaded, type) else loaded
        except Exception as err:
            warnings.warn(f"fusion task {entry.name!r} failed to load: {err}", stacklevel=2)
            continue
        if not isinstance(task, Task) or task.name != entry.name:
            warnings.warn(
                f"fusion task {entry.name!r} ({entry.value}) is not a fusion.registry.tasks.Task "
                f"named {entry.name!r}; left out",
                stacklevel=2,
            )
            continue
        found[entry.name] = task
    return MappingProxyType(found)


def missing_task(name: str, tasks: Mapping[str, Task]) -> str:
    """The message for a card whose task is not installed, naming the installed ones.

    >>> missing_task("inpaint", {})
    "no task 'inpaint' installed (entry-point group fusion.tasks; installed: none)"
    """
    installed = ", ".join(sorted(tasks)) or "none"
    return f"no task {name!r} installed (entry-point group {TASK_GROUP}; installed: {installed})"
