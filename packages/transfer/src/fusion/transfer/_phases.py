"""The label channel of a target group: its phases by name, checked."""

from __future__ import annotations

import xarray as xr

from ._errors import TransferError

__all__ = ["phase_value", "target_group"]


def target_group(tree: xr.DataTree, group: str, phase_channel: str) -> xr.Dataset:
    """The scale group ``group`` of ``tree``, which must hold the label channel."""
    if group not in tree.children:
        raise TransferError(f"no group {group!r} in the dataset; groups: {sorted(tree.children)}")
    ds = tree[group].to_dataset(inherit=False)
    if phase_channel not in ds or "flag_meanings" not in ds[phase_channel].attrs:
        raise TransferError(f"/{group}: no label channel {phase_channel!r} (with flag_meanings)")
    return ds


def phase_value(labels: xr.DataArray, name: str, where: str) -> int:
    """The flag value of phase ``name`` in the label channel ``labels``."""
    attrs = labels.attrs
    values = dict(zip(attrs["flag_meanings"].split(), attrs["flag_values"], strict=True))
    if name not in values:
        raise TransferError(f"{where}: no phase {name!r}; phases: {list(values)}")
    return int(values[name])
