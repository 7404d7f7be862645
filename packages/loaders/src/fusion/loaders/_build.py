"""Cheap construction of the xarray objects a loader returns.

``xr.Dataset(data_vars, coords)`` merges and aligns its arguments, and ``DataTree.from_dict``
copies every group and aligns it with its parent: together about 0.5-1 ms a load, as much as
the bare read of a small instrument file. A loader's groups need none of that work: every
channel is an ``xr.Variable`` on the group's own dimension coordinates, and the root node holds
attributes only. `dataset` and `tree` build the same objects directly (the conformance suite,
`fusion.loaders.testing`, checks that every loader's tree is identical to what the public
constructors give).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr
from xarray.core.variable import calculate_dimensions
from xarray.indexes import PandasIndex

__all__ = ["dataset", "tree"]


def dataset(
    data_vars: Mapping[str, xr.Variable],
    coords: Mapping[str, xr.Variable],
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """``xr.Dataset(data_vars, coords=coords, attrs=attrs)`` without merging or aligning.

    Each coordinate named after its one dimension gets the default pandas index, as the
    constructor gives it; dimension sizes are checked (a conflict raises ``ValueError``).
    """
    variables: dict[str, xr.Variable] = {}
    indexes: dict[str, PandasIndex] = {}
    for name, var in coords.items():
        if var.dims == (name,):
            index = PandasIndex.from_variables({name: var}, options={})
            indexes[name] = index
            variables.update(index.create_variables({name: var}))
        else:
            variables[name] = var
    clash = set(variables) & set(data_vars)
    if clash:
        raise ValueError(f"names used for both a coordinate and a channel: {sorted(clash)}")
    variables.update(data_vars)
    dims = calculate_dimensions(variables)
    return xr.Dataset._construct_direct(
        variables, set(coords), dims, dict(attrs) if attrs else None, indexes
    )


def tree(root_attrs: Mapping[str, Any], groups: Mapping[str, xr.Dataset]) -> xr.DataTree:
    """``DataTree.from_dict({"/": Dataset(attrs=root_attrs), "/name": ds, ...})``, linked directly.

    The root holds no variables, so a child can neither clash with it nor be misaligned with
    it, and no coordinate is inherited: the alignment checks and copies of ``from_dict``
    would find nothing to do.
    """
    root = xr.DataTree(xr.Dataset(attrs=dict(root_attrs)))
    for name, ds in groups.items():
        if "/" in name or not name:
            raise ValueError(f"group name {name!r}: expected a non-empty name without '/'")
        child = xr.DataTree(ds, name=name)
        root._children[name] = child
        child._parent = root
    return root
