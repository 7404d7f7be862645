"""The ``.fusion`` accessors: conveniences on plain xarray objects, returning plain xarray objects."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import xarray as xr

from ._errors import SchemaError
from .checks._report import ValidationReport
from .checks._validate import validate
from .model._versions import ROOT_MODELS
from .model.v0_1 import SPATIAL_DIMS, ChannelAttrs, Provenance, RootAttrs, parse_attrs

__all__ = ["FusionDatasetAccessor", "FusionTreeAccessor"]


@xr.register_datatree_accessor("fusion")
class FusionTreeAccessor:
    """``tree.fusion``: the dataset's metadata, its scale groups, validation and writing."""

    def __init__(self, tree: xr.DataTree) -> None:
        self._obj = tree

    def validate(self, level: Literal["metadata", "data"] = "metadata") -> ValidationReport:
        """Validate this tree; see `fusion.schema.validate`."""
        return validate(self._obj, level=level)

    @property
    def metadata(self) -> RootAttrs:
        """The root ``fusion`` attribute, parsed. Raises `SchemaError` when it does not conform."""
        raw = self._obj.attrs.get("fusion")
        if not isinstance(raw, dict):
            raise SchemaError("the root group has no `fusion` attribute: not a fusion dataset")
        model = ROOT_MODELS.get(raw.get("schema"))
        if model is None:
            raise SchemaError(
                f"the root declares schema {raw.get('schema')!r}; this release reads "
                f"{list(ROOT_MODELS)}"
            )
        try:
            return parse_attrs(model, raw)
        except ValueError as err:
            raise SchemaError(f"the root `fusion` attribute does not conform: {err}") from err

    @property
    def provenance(self) -> Provenance:
        """The provenance graph."""
        return self.metadata.provenance

    @property
    def scales(self) -> dict[str, xr.Dataset]:
        """Scale groups by name, as Datasets, finest voxel size first."""
        found = {
            name: child.to_dataset(inherit=False)
            for name, child in self._obj.children.items()
            if all(dim in child.dims for dim in SPATIAL_DIMS)
        }
        return dict(sorted(found.items(), key=lambda kv: _finest_voxel(kv[1])))

    def write(self, url: str | os.PathLike[str], **kwargs: Any) -> str:
        """Write atomically; see `fusion.schema.write`."""
        from .store._write import write

        return write(self._obj, url, **kwargs)


@xr.register_dataset_accessor("fusion")
class FusionDatasetAccessor:
    """``ds.fusion`` on a scale group: voxel geometry and channel selection."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._obj = ds

    @property
    def voxel_size_um(self) -> tuple[float | None, float | None, float | None]:
        """Voxel size along (z, y, x) in µm; None along an axis of length 1."""
        return tuple(_step(self._obj[dim].values) for dim in SPATIAL_DIMS)  # type: ignore[return-value]

    @property
    def origin_um(self) -> tuple[float, float, float]:
        """Centre of the first voxel along (z, y, x) in µm."""
        return tuple(float(self._obj[dim].values[0]) for dim in SPATIAL_DIMS)  # type: ignore[return-value]

    def channels(self, modality: str | None = None, origin: str | None = None) -> xr.Dataset:
        """The channels whose ``modality`` and ``origin`` attributes match (None: any)."""
        keep = [
            name
            for name, var in self._obj.data_vars.items()
            if (modality is None or var.attrs.get("modality") == modality)
            and (origin is None or var.attrs.get("origin") == origin)
        ]
        return self._obj[keep]

    def phase_fractions(self, channel: str = "phase") -> dict[str, float]:
        """Volume fraction of each phase of a label channel, by phase name."""
        var = self._obj[channel]
        attrs = parse_attrs(ChannelAttrs, var.attrs)
        if not attrs.phase_names:
            raise SchemaError(f"channel {channel!r} has no flag_values / flag_meanings")
        counts = {name: int((var == value).sum()) for value, name in attrs.phase_names.items()}
        total = int(np.prod(var.shape))
        return {name: count / total for name, count in counts.items()}


def _step(values: np.ndarray) -> float | None:
    if len(values) < 2:
        return None
    return round(float((values[-1] - values[0]) / (len(values) - 1)), 12)


def _finest_voxel(ds: xr.Dataset) -> float:
    steps = [s for s in ds.fusion.voxel_size_um if s is not None]
    return min(steps) if steps else float("inf")
