"""Validation results as data: findings with a location, a stable code and a severity."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .._errors import SchemaError, UnreadableStoreError

__all__ = ["CODES", "Finding", "Severity", "ValidationReport"]

Severity = Literal["error", "warning"]

CODES: dict[str, tuple[Severity, str]] = {
    # the store as a whole
    "store.unreadable": ("error", "the path or URL cannot be opened as a Zarr group"),
    "store.zarr-format": ("error", "the store is Zarr format 2; fusion datasets are Zarr format 3"),
    "store.stale-consolidated": (
        "error",
        "consolidated metadata disagrees with a node's own zarr.json (readers would see other "
        "metadata than the store holds)",
    ),
    # root group
    "root.not-fusion": ("error", "the root group has no `fusion` attribute"),
    "root.incomplete-write": ("error", "a writer started and did not finish (`fusion_incomplete`)"),
    "root.schema-version": ("error", "`fusion.schema` is not a format and version this validator knows"),
    "root.missing-field": ("error", "a required field of the root `fusion` attribute is missing"),
    "root.unknown-field": ("error", "the root `fusion` attribute holds a field the format does not define"),
    "root.invalid-value": ("error", "a field of the root `fusion` attribute has a value of the wrong type or form"),
    "root.time-order": ("error", "`modified` is before `created`"),
    "root.unexpected-array": ("error", "the root group holds an array; arrays belong in scale groups"),
    "root.no-scale-groups": ("error", "the root group has no scale group"),
    # provenance graph
    "provenance.missing-field": ("error", "a required field of a provenance record is missing"),
    "provenance.unknown-field": ("error", "a provenance record holds a field the format does not define"),
    "provenance.invalid-value": ("error", "a provenance field has a value of the wrong type or form"),
    "provenance.time-order": ("error", "an activity ends before it starts"),
    "provenance.dangling-reference": ("error", "a provenance record refers to an id that is not defined"),
    "provenance.not-generated": (
        "warning",
        "a channel's activity does not list the channel in `generated`",
    ),
    "provenance.missing-channel": (
        "warning",
        "an activity lists a channel path (used or generated) that is not in the dataset",
    ),
    # groups and coordinates
    "group.nested": ("error", "a scale group holds a sub-group; 0.1 has one level of scale groups"),
    "group.requires-0.2": ("error", "a projection group (with an `angle` coordinate) in a fusion/0.1 store"),
    "projections.angle": ("error", "the `angle` coordinate is not 1-D float64 in degrees, or not finite"),
    "coords.missing": ("error", "a scale group lacks one of the z, y, x coordinate arrays"),
    "coords.shape": ("error", "a coordinate array is not one-dimensional on its own dimension"),
    "coords.dtype": ("error", "a spatial coordinate is not float64"),
    "coords.units": ("error", "a spatial coordinate is not in micrometres (`units: um`)"),
    "coords.not-finite": ("error", "a coordinate holds NaN or infinity"),
    "coords.not-increasing": ("error", "a coordinate is not strictly increasing"),
    "coords.irregular-spacing": ("error", "a spatial coordinate is not regularly spaced"),
    # channels
    "channel.dims": ("error", "a channel's dimensions are not (z, y, x) plus at most one known channel dimension"),
    "channel.shape": ("error", "a channel's shape does not match its coordinates"),
    "channel.dtype": ("error", "a channel's data type is not boolean, integer or floating point"),
    "channel.missing-attribute": ("error", "a required channel attribute is missing"),
    "channel.invalid-attribute": ("error", "a channel attribute has a value of the wrong type or form"),
    "channel.units": ("error", "a unit is not in the controlled vocabulary"),
    "channel.modality": ("error", "`modality` is not one of the known techniques"),
    "channel.origin": ("error", "`origin` is not measured, inferred, generated or derived"),
    "channel.provenance": ("error", "`provenance` names an activity that is not in the provenance graph"),
    "labels.flags": ("error", "`flag_values`, `flag_meanings` and `flag_colors` do not agree"),
    "labels.dtype": ("error", "a label channel is not of an integer type"),
    "labels.units": ("error", "a label channel's units are not `1`"),
    "labels.flag-range": ("error", "a flag value cannot be held by the channel's integer type"),
    "orientation.quat-coordinate": ("error", "the `quat` coordinate is missing or is not [w, x, y, z]"),
    "orientation.dtype": ("error", "an orientation channel is not floating point"),
    "orientation.rotation": ("error", "an orientation channel does not say `rotation: crystal_to_sample`"),
    "orientation.symmetry": ("error", "an orientation channel does not name the point group of each phase"),
    "orientation.phase-channel": ("error", "`phase_channel` is not a label channel naming those phases"),
    "composition.element-coordinate": ("error", "the `element` coordinate is missing or holds non-element strings"),
    "composition.units": ("error", "a composition channel's units are not `1` (fractions)"),
    "energy-loss.coordinate": ("error", "the `energy_loss` coordinate is missing, not in eV or not increasing"),
    "xray-energy.coordinate": ("error", "the `xray_energy` coordinate (0.3) is missing, not in eV or not increasing"),
    "channel.requires-0.3": ("error", "a channel on `xray_energy` in a store that declares fusion/0.1 or 0.2"),
    # values (level "data")
    "data.label-values": ("error", "a label channel holds values not listed in `flag_values`"),
    "data.not-finite": ("error", "a channel holds NaN or infinity where the format forbids it"),
    "data.quat-norm": ("error", "a quaternion's norm differs from 1 by more than 1e-3"),
    "data.fraction-range": ("error", "a composition fraction is outside [0, 1]"),
    "data.unreadable-chunk": ("error", "a chunk of a channel cannot be read or decoded"),
    "data.missing-chunk": ("error", "a chunk listed in the array's chunk manifest is absent from the store"),
    "data.corrupt-chunk": ("error", "a chunk's bytes differ from its SHA-256 in the chunk manifest, or a chunk is stored that the manifest does not list"),
    "data.invalid-manifest": ("error", "an array's chunk manifest cannot be parsed, or is missing while other arrays have one"),
    # OME-Zarr views (`fusion export ome-zarr`, spec/fusion-ome-1.md)
    "ome.view-record": ("error", "the view's `fusion_ome_view` record is missing, malformed, or names an image the view does not hold"),
    "ome.metadata": ("error", "an image group's OME-Zarr 0.5 metadata is missing or malformed (version, axes, datasets, image-label, labels)"),
    "ome.scale": ("error", "a level's scale or translation disagrees with the voxel size and origin of the dataset's coordinates"),
    "ome.missing-level": ("error", "a pyramid level is absent, has the wrong shape, or the image has fewer levels than the rule gives"),
    "ome.level-values": ("error", "a pyramid level's values are not its reduction (mean, mode or stride) of the level before it"),
    # the validator itself
    "validator.internal-error": ("error", "a check failed unexpectedly; please report it with the store"),
}  # fmt: skip
"""Every finding code with its severity and meaning. Codes are stable across releases."""


class Finding(BaseModel):
    """One thing the validator found, located in the store."""

    model_config = ConfigDict(frozen=True)

    path: str
    """Node inside the store: ``/`` for the root, ``/particle/phase`` for a channel."""
    attribute: str | None = None
    """Attribute of that node the finding is about, e.g. ``flag_values`` or ``fusion.sample``."""
    code: str
    """Stable code from the table of codes, e.g. ``labels.flags``."""
    severity: Severity
    message: str
    """What was expected and what was found."""

    def __str__(self) -> str:
        where = self.path + (f" [{self.attribute}]" if self.attribute else "")
        return f"{self.severity:<7} {where}  {self.code}: {self.message}"


class ValidationReport(BaseModel):
    """The result of validating one target; raising is the caller's choice."""

    target: str
    """The path, URL or object description that was validated."""
    level: Literal["metadata", "data"]
    schema_id: str | None = None
    """The format version the store declares, when it declares one."""
    readable: bool = True
    """False when the target could not be opened at all."""
    findings: list[Finding] = []

    def add(self, code: str, path: str, message: str, attribute: str | None = None) -> None:
        """Record a finding; the severity comes from the code table."""
        severity = CODES[code][0]
        self.findings.append(
            Finding(path=path, attribute=attribute, code=code, severity=severity, message=message)
        )

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the target was read and has no error (warnings allowed)."""
        return self.readable and not self.errors

    @property
    def exit_code(self) -> int:
        """0 conforms, 1 does not conform, 2 could not be read."""
        if not self.readable:
            return 2
        return 0 if self.ok else 1

    def codes(self) -> set[str]:
        """The distinct codes found."""
        return {f.code for f in self.findings}

    def summary(self) -> str:
        """One line: the verdict with counts."""
        if not self.readable:
            return f"{self.target}: cannot be read"
        verdict = "conforms to" if self.ok else "does not conform to"
        schema = self.schema_id or "fusion"
        return (
            f"{self.target}: {verdict} {schema} (level {self.level}; "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s))"
        )

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(f"  {f}" for f in self.findings)])

    def to_json(self) -> str:
        """The report as JSON, with the verdict included."""
        data = self.model_dump()
        data["ok"] = self.ok
        return json.dumps(data, indent=2)

    def raise_for_errors(self) -> ValidationReport:
        """Raise `SchemaError` (or `UnreadableStoreError`) if the target does not conform."""
        if not self.readable:
            raise UnreadableStoreError(self.findings[0].message if self.findings else self.target)
        if self.errors:
            first = self.errors[0]
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            raise SchemaError(f"{self.target}: {first}{more}", report=self)
        return self
