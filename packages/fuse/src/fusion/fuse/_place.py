"""The ``place`` step: scale groups of several datasets into one, co-registered by coordinates.

Each placed group keeps its channels and voxel size; only its coordinates may move (a pure
translation, recorded in a ``place`` activity). The provenance graphs of the source datasets
are merged into one: identical entities, agents and activities (the same file loaded once and
used by two steps) are kept once; different ones that share an id are renamed with the name of
the step they came from; channel paths follow their group's new name. A kept activity that
used a channel the output does not keep is an error, so every channel still traces back to
its files and models.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from fusion.schema import unique_id
from fusion.schema.provenance import add_activity, now

from ._recipe import PlaceStep, RecipeError

__all__ = ["PlacementError", "place"]

DIMS = ("z", "y", "x")


class PlacementError(RecipeError):
    """Groups that cannot be placed as asked (a group outside the one it must lie in, ...)."""


@dataclass(frozen=True)
class _Part:
    step: str
    tree: xr.DataTree
    groups: dict[str, str]  # group in the step's dataset -> group in the output


def place(step: PlaceStep, trees: Mapping[str, xr.DataTree]) -> xr.DataTree:
    """The dataset ``step`` describes, from the datasets of the steps it names."""
    started = now()
    chosen = {name: (p.source, group_of(trees[p.source], p.source, p.group))
              for name, p in step.groups.items()}  # fmt: skip
    datasets = {
        name: trees[src][group].to_dataset(inherit=False).drop_encoding()
        for name, (src, group) in chosen.items()
    }
    shifts = _translations(step, datasets)
    for name, shift in shifts.items():
        datasets[name] = _translate(datasets[name], shift)
    parts = []
    for src in sorted({src for src, _ in chosen.values()}):
        mapping = {group: name for name, (s, group) in chosen.items() if s == src}
        parts.append(_Part(src, trees[src], mapping))
    provenance, renamed = merge_provenance(parts)
    for name, (src, _) in chosen.items():
        for var in datasets[name].data_vars.values():
            var.attrs["provenance"] = renamed[src].get(
                var.attrs["provenance"], var.attrs["provenance"]
            )
    moved = {name: shift for name, shift in shifts.items() if any(shift)}
    first = trees[parts[0].step].attrs["fusion"]
    root = {**copy.deepcopy(first), "provenance": provenance}
    if moved:
        add_activity(
            root,
            "place",
            activity_id=unique_id("place", provenance["activities"]),
            software="fusion-fuse",
            started=started,
            parameters={
                name: {
                    "from": f"{chosen[name][0]}:/{chosen[name][1]}",
                    "translation_um": [round(float(v), 9) for v in shift],
                    **({"inside": step.groups[name].inside} if step.groups[name].inside else {}),
                }
                for name, shift in moved.items()
            },
            used=[f"/{name}/{var}" for name in moved for var in datasets[name].data_vars],
            description="translated the groups' coordinates (no resampling)",
        )
    root["modified"] = now()
    nodes = {"/": xr.Dataset(attrs={"fusion": root})}
    nodes |= {f"/{name}": ds for name, ds in datasets.items()}
    return xr.DataTree.from_dict(nodes)


def group_of(tree: xr.DataTree, step: str, group: str | None) -> str:
    """``group`` of a step's dataset, checked; by default its only group."""
    names = list(tree.children)
    if group is None:
        if len(names) != 1:
            raise PlacementError(f"step {step!r} made groups {names}; say which with `group:`")
        return names[0]
    if group not in names:
        raise PlacementError(f"step {step!r} has no group {group!r} (it has {names})")
    return group


def _extent(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (µm) of a group's voxels, faces not centres, per axis."""
    low, high = [], []
    for dim in DIMS:
        c = ds[dim].values
        step = float(c[1] - c[0]) if c.size > 1 else 0.0
        low.append(float(c[0]) - step / 2)
        high.append(float(c[-1]) + step / 2)
    return np.array(low), np.array(high)


def _translations(step: PlaceStep, datasets: Mapping[str, xr.Dataset]) -> dict[str, np.ndarray]:
    """Per group, the shift (µm) that puts it where the recipe says; containers first."""
    shifts: dict[str, np.ndarray] = {}

    def solve(name: str, chain: tuple[str, ...] = ()) -> np.ndarray:
        if name in chain:
            raise PlacementError(f"groups {' -> '.join((*chain, name))} lie inside each other")
        if name in shifts:
            return shifts[name]
        placement, ds = step.groups[name], datasets[name]
        low, high = _extent(ds)
        first = np.array([float(ds[d].values[0]) for d in DIMS])
        if placement.inside is None:  # where it is, or at the point given
            shift = np.zeros(3) if placement.at_um is None else np.array(placement.at_um) - first
            shifts[name] = shift
            return shift
        o_shift = solve(placement.inside, (*chain, name))
        o_low, o_high = (bound + o_shift for bound in _extent(datasets[placement.inside]))
        if placement.at_um is not None:
            shift = np.array(placement.at_um) - first
        else:  # centred in the container
            shift = (o_low + o_high) / 2 - (low + high) / 2
        tol = 1e-9 * max(1.0, float(np.max(np.abs(o_high))))
        if np.any(low + shift < o_low - tol) or np.any(high + shift > o_high + tol):
            raise PlacementError(
                f"group {name!r} spans {_box(low + shift, high + shift)} µm, which is not "
                f"inside {placement.inside!r} at {_box(o_low, o_high)} µm"
            )
        shifts[name] = shift
        return shift

    for name in step.groups:
        solve(name)
    return shifts


def _box(low: np.ndarray, high: np.ndarray) -> str:
    return " × ".join(f"[{a:.4g}, {b:.4g}]" for a, b in zip(low, high, strict=True))


def _translate(ds: xr.Dataset, shift: np.ndarray) -> xr.Dataset:
    if not np.any(shift):
        return ds
    coords = {
        d: xr.Variable(d, ds[d].values + s, ds[d].attrs) for d, s in zip(DIMS, shift, strict=True)
    }
    return ds.assign_coords(coords)


def merge_provenance(parts: list[_Part]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """One provenance graph from the parts' graphs, channel paths mapped to the output's groups.

    Returns the merged graph and, per part, the activity ids that were renamed (old -> new).
    """
    merged: dict[str, dict[str, Any]] = {"entities": {}, "activities": {}, "agents": {}}
    renamed_activities: dict[str, dict[str, str]] = {}
    for part in parts:
        graph = copy.deepcopy(part.tree.attrs["fusion"]["provenance"])
        ids = {kind: _add_all(merged[kind], graph.get(kind, {}), part.step)
               for kind in ("agents", "entities")}  # fmt: skip
        activities = {}
        for act_id, activity in graph.get("activities", {}).items():
            made = activity.get("generated", [])
            kept = [p for p in made if _group(p) in part.groups]
            if made and not kept:
                continue  # it made only channels the output does not keep
            lost = [p for p in activity.get("used", []) if p.startswith("/")
                    and _group(p) not in part.groups]  # fmt: skip
            if lost:
                raise PlacementError(
                    f"activity {act_id!r} of step {part.step!r} used {lost}, which the placed "
                    "dataset does not keep; place the group(s) they are in as well"
                )
            activity["generated"] = [_moved(p, part) for p in kept]
            activity["used"] = [_moved(p, part) if p.startswith("/") else
                                ids["entities"].get(p, p) for p in activity.get("used", [])]  # fmt: skip
            activity["agents"] = [ids["agents"].get(a, a) for a in activity.get("agents", [])]
            activities[act_id] = activity
        renamed_activities[part.step] = _add_all(merged["activities"], activities, part.step)
    return merged, renamed_activities


def _group(path: str) -> str:
    return path[1:].split("/", 1)[0]


def _moved(path: str, part: _Part) -> str:
    group, name = path[1:].split("/", 1)
    return f"/{part.groups[group]}/{name}"


def _add_all(target: dict[str, Any], items: Mapping[str, Any], label: str) -> dict[str, str]:
    """Add ``items`` to ``target``; identical ones are shared, clashing ids get ``-label``."""
    renames = {}
    for key, value in items.items():
        if key in target and target[key] == value:
            continue
        new = key if key not in target else unique_id(f"{key}-{label}", target)
        target[new] = value
        if new != key:
            renames[key] = new
    return renames
