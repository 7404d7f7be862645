"""docs/analysis.md: its Python blocks run as written on the example opened with plain xarray,
and what they compute agrees with an independent count."""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from fusion.schema import make_example, write

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def namespace(tmp_path_factory):
    """The names the doc's blocks define, run in order in a folder holding demo.zarr."""
    folder = tmp_path_factory.mktemp("doc")
    write(make_example(size="small"), folder / "demo.zarr")
    names: dict = {}
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.chdir(folder)
        warnings.simplefilter("error")  # the electrode's pore percolates: no warning expected
        for block in python_blocks():
            if "import taufactor" in block and importlib.util.find_spec("taufactor") is None:
                continue
            exec(compile(block, str(DOC), "exec"), names)
    return names


def test_the_doc_has_the_blocks_the_test_relies_on():
    joined = "\n".join(python_blocks())
    for name in ("xr.open_datatree", "volume_fractions", "specific_surface_area",
                 "tortuosity_factor", "tau.Solver", "grain_size_distribution"):  # fmt: skip
        assert name in joined
    assert "import fusion" not in python_blocks()[0]  # opening needs plain xarray only


def test_fractions_are_voxel_counts(namespace):
    labels = namespace["phase"].values
    counts = np.bincount(labels.ravel(), minlength=3) / labels.size
    assert namespace["fractions"] == pytest.approx(dict(enumerate(counts)))
    assert namespace["by_name"] == pytest.approx(
        dict(zip(["pore", "NMC", "CBD"], counts, strict=True))
    )


def test_surface_areas_are_face_counts_per_volume(namespace):
    labels = namespace["phase"].values
    for label, name in enumerate(["pore", "NMC", "CBD"]):
        faces = sum(np.count_nonzero(np.diff(labels == label, axis=a)) for a in range(3))
        per_um = faces * 0.4**2 / (labels.size * 0.4**3)  # cubic 0.4 µm voxels
        assert namespace["ssa"][name] == pytest.approx(per_um * 2 / 3)


def test_tortuosity_is_the_pore_fraction_over_its_relative_diffusivity(namespace):
    pore = float(np.mean(namespace["phase"].values == 0))
    for dim, result in namespace["tortuosity"].items():
        assert result.axis == "zyx".index(dim)
        assert result.volume_fraction == pytest.approx(pore)
        assert 0 < result.d_eff < pore  # tortuous: slower than straight channels
        assert result.tau == pytest.approx(pore / result.d_eff)
    if "s" in namespace:  # TauFactor ran (installed): same τ to its 1 % convergence
        assert float(np.ravel(namespace["s"].tau)[0]) == pytest.approx(
            namespace["tortuosity"]["x"].tau, rel=0.02
        )


def test_grain_sizes_are_equal_volume_sphere_diameters(namespace):
    ids = namespace["particle"].grain_id.values
    diameters = namespace["diameters"]
    counts = np.bincount(ids.ravel())
    present = np.flatnonzero(counts)[1:] if counts[0] else np.flatnonzero(counts)
    assert diameters.grain.values.tolist() == present.tolist()
    volumes = counts[present] * 0.05**3
    np.testing.assert_allclose(diameters.values, (6 * volumes / np.pi) ** (1 / 3))
