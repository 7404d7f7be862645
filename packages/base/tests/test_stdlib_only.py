"""fusion.base imports nothing outside the standard library (fusion-pull imports it)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_fusion_base_loads_no_third_party_module():
    code = (
        "import sys; import fusion.base; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'numpy', 'xarray', 'zarr', 'pydantic', 'fsspec', 'yaml'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
