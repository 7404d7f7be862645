"""The README's two set-up commands are what CI runs, and the spec's worked example conforms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fusion.schema import validate

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    setup, test = _bash_blocks(readme, "Set up"), _bash_blocks(readme, "Test")
    assert len(setup) == 1 and len(test) == 1
    for command in (setup[0].strip(), test[0].strip()):
        assert command in ci.splitlines(), f"{command!r} is not a line of .ci/run"


def test_spec_worked_example_written_with_plain_xarray_conforms(tmp_path):
    text = (REPO / "spec" / "fusion-0.1.md").read_text(encoding="utf-8")
    blocks = re.findall(r'```python title="worked-example"\n(.*?)```', text, flags=re.S)
    assert len(blocks) == 1, "spec/fusion-0.1.md must hold one worked-example block"
    assert "fusion" not in re.findall(r"^\s*(?:import|from)\s+(\w+)", blocks[0], flags=re.M)
    output = tmp_path / "worked-example.zarr"
    exec(compile(blocks[0], "spec/fusion-0.1.md", "exec"), {"OUTPUT": str(output)})
    report = validate(output, level="data")
    assert report.ok and not report.warnings, str(report)


@pytest.mark.parametrize("store", sorted((REPO / "spec" / "examples").glob("*.zarr")))
def test_example_stores_in_spec_conform(store):
    report = validate(store, level="data")
    assert report.ok, str(report)
