"""What `fusion registry check` found: per entry, the checks passed, failed and skipped."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["CheckReport", "EntryResult"]


@dataclass
class EntryResult:
    """The checks of one entry: which passed, which failed and why, which were skipped."""

    entry: str
    """``model:name@version``, ``model:name`` (name-level problems) or ``registry``."""
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class CheckReport:
    """The result of checking a registry; printing it gives one line per entry and reason."""

    registry: str
    results: list[EntryResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def __str__(self) -> str:
        lines = []
        for r in self.results:
            status = "ok" if r.ok else "FAILED"
            lines.append(
                f"{status:<7} {r.entry}" + (f" ({', '.join(r.passed)})" if r.passed else "")
            )
            lines += [f"  failed  {r.entry}: {reason}" for reason in r.failures]
            lines += [f"  skipped {r.entry}: {reason}" for reason in r.skipped]
        failed = sum(not r.ok for r in self.results)
        lines.append(f"{self.registry}: {len(self.results)} checked, {failed} failed")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = {
            "registry": self.registry,
            "ok": self.ok,
            "results": [asdict(r) for r in self.results],
        }
        return json.dumps(data, indent=2)
