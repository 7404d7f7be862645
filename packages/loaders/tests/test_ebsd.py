"""EBSD loader: every real .ang/.ctf file against the values its README gives, and refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fusion.loaders import LoaderError, LoaderWarning, load
from fusion.loaders.testing import LoaderConformance

quiet = pytest.mark.filterwarnings("ignore::fusion.loaders.LoaderWarning")


@quiet
class TestAngConformance(LoaderConformance):
    kind = "ebsd"
    suffix = ".ang"

    @pytest.fixture(params=["S00.ANG", "ACOM.ang", "sdss_ferrite_austenite.ang"])
    def path(self, request, instruments):
        return instruments / "ebsd" / request.param


class TestCtfConformance(LoaderConformance):
    kind = "ebsd"
    suffix = ".ctf"

    @pytest.fixture
    def path(self, instruments):
        return instruments / "ebsd" / "twins.ctf"


# file -> (rows, cols), step and last x, y in µm, quality channels,
#         {flag word: (verbatim name, points, Laue class, a in Å)}, not-indexed points
EXPECTED = {
    "sdss_ferrite_austenite.ang": (
        (100, 117),
        (1.5, 174.0, 148.5),
        {"iq", "dp"},
        {
            "austenite_austenite": ("austenite/austenite", 5657, "m-3m", 3.595),
            "ferrite_ferrite": ("ferrite/ferrite", 6043, "m-3m", 2.867),
        },
        0,
    ),
    "S00.ANG": (
        (40, 35),
        (0.4, 13.6, 15.6),
        {"iq", "ci", "fit", "detector_signal"},
        {"Iron_bcc_old": ("Iron bcc (old)", 1058, "m-3m", 2.866)},
        342,
    ),
    "ACOM.ang": (
        (15, 15),
        (0.002, 0.028, 0.028),
        {"index", "reliability", "reliability_x100"},
        {"Phase_22474944": ("Phase 22474944", 225, "m-3m", 3.891)},
        0,
    ),
    "twins.ctf": (
        (137, 167),
        (0.3, 49.8, 40.8),
        {"bands", "error", "mad", "bc", "bs"},
        {"Magnesium": ("Magnesium", 22833, "6/mmm", 3.2089)},
        46,
    ),
}


@pytest.fixture(scope="module")
def ebsd(instruments):
    """Load a file once per module: (scale group, tree, LoaderWarning messages)."""
    cache = {}

    def get(name):
        if name not in cache:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tree = load("ebsd", instruments / "ebsd" / name)
            notes = [str(w.message) for w in caught if issubclass(w.category, LoaderWarning)]
            cache[name] = (tree["ebsd"].to_dataset(), tree, notes)
        return cache[name]

    return get


@pytest.mark.parametrize("name", EXPECTED)
def test_grid_comes_from_the_xy_columns(ebsd, name):
    ds, _, _ = ebsd(name)
    shape, (step, x_last, y_last), *_ = EXPECTED[name]
    assert ds.sizes["z"] == 1 and (ds.sizes["y"], ds.sizes["x"]) == shape
    for dim, last in (("x", x_last), ("y", y_last)):
        assert ds[dim].attrs["units"] == "um"
        np.testing.assert_allclose(np.diff(ds[dim].values), step, rtol=1e-9)
        assert ds[dim].values[0] == 0.0
        assert ds[dim].values[-1] == pytest.approx(last)


@pytest.mark.parametrize("name", EXPECTED)
def test_phases_counts_names_and_symmetry(ebsd, name):
    ds, _, _ = ebsd(name)
    *_, phases, not_indexed = EXPECTED[name]
    attrs = ds.phase.attrs
    assert ds.phase.dtype.kind == "i" and attrs["units"] == "1"
    assert attrs["flag_meanings"].split() == ["not_indexed", *phases]
    assert attrs["flag_values"][0] == -1
    assert int((ds.phase == -1).sum()) == not_indexed
    orientation = ds.orientation.attrs
    for (word, (verbatim, points, laue, a)), value in zip(
        phases.items(), attrs["flag_values"][1:], strict=True
    ):
        assert attrs["phase_names"][word] == verbatim
        assert int((ds.phase == value).sum()) == points
        assert orientation["crystal_symmetry"][word] == laue
        assert attrs["lattice_parameters"][word][0] == pytest.approx(a)


@pytest.mark.parametrize("name", EXPECTED)
def test_orientations_are_unit_quaternions_nan_where_not_indexed(ebsd, name):
    ds, _, _ = ebsd(name)
    quat = ds.orientation
    assert quat.dims == ("z", "y", "x", "quat") and list(ds.quat.values) == ["w", "x", "y", "z"]
    assert quat.attrs["rotation"] == "crystal_to_sample" and quat.attrs["phase_channel"] == "phase"
    assert "not rotated" in quat.attrs["reference_frame"]
    missing = (ds.phase == -1).values
    values = quat.values
    assert np.isnan(values[missing]).all()
    np.testing.assert_allclose(np.linalg.norm(values[~missing], axis=-1), 1.0, atol=1e-9)
    assert (values[~missing][:, 0] >= 0).all()


@pytest.mark.parametrize("name", EXPECTED)
def test_quality_channels(ebsd, name):
    ds, _, _ = ebsd(name)
    quality = EXPECTED[name][2]
    assert quality <= set(ds.data_vars)
    for channel in quality:
        assert ds[channel].dims == ("z", "y", "x")
        assert ds[channel].attrs["units"] == ("degree" if channel in ("mad", "fit") else "1")


def test_mean_euler_angles_of_sdss_match_orix(ebsd):
    from orix.quaternion import Rotation

    ds, _, _ = ebsd("sdss_ferrite_austenite.ang")
    sample_to_crystal = ~Rotation(ds.orientation.values.reshape(-1, 4))
    mean = sample_to_crystal.to_euler().mean(axis=0)
    np.testing.assert_allclose(mean, (3.2052, 0.5572, 2.9040), atol=1e-4)


@pytest.mark.parametrize(
    ("name", "euler_degrees"),
    [
        # first data row (x = y = 0) of each file: .ctf in degrees, .ang in radians
        ("twins.ctf", (99.591, 20.385, 37.253)),
        ("S00.ANG", np.degrees((4.63245, 0.52904, 1.39061))),
    ],
)
def test_crystal_c_axis_lands_where_bunge_puts_it(ebsd, name, euler_degrees):
    """Crystal [001] in the sample frame is (sin phi1 sin Phi, -cos phi1 sin Phi, cos Phi)."""
    ds, _, _ = ebsd(name)
    w, *v = ds.orientation.values[0, 0, 0]
    v = np.array(v)
    c = np.array([0.0, 0.0, 1.0])
    rotated = c + 2 * w * np.cross(v, c) + 2 * np.cross(v, np.cross(v, c))  # q c q*
    phi1, big_phi, _ = np.radians(euler_degrees)
    expected = (
        np.sin(phi1) * np.sin(big_phi),
        -np.cos(phi1) * np.sin(big_phi),
        np.cos(big_phi),
    )
    np.testing.assert_allclose(rotated, expected, atol=1e-4)


def test_twins_keeps_space_group_lattice_and_oxford_frame(ebsd):
    ds, _, _ = ebsd("twins.ctf")
    assert ds.phase.attrs["space_groups"] == {"Magnesium": 194}
    np.testing.assert_allclose(
        ds.phase.attrs["lattice_parameters"]["Magnesium"], (3.2089, 3.2089, 5.2101, 90, 90, 120)
    )
    assert "CS0" in ds.orientation.attrs["reference_frame"]
    assert "degrees" in ds.orientation.attrs["euler_angles"]


def test_acquisition_settings_from_the_header(ebsd):
    sdss = ebsd("sdss_ferrite_austenite.ang")[0].orientation.attrs
    assert sdss["operator"] == "Håkon Wiik Ånes"
    pattern_center = [sdss[f"pattern_center_{axis}_star"] for axis in "xyz"]
    np.testing.assert_allclose(pattern_center, (0.446667, 0.586875, 0.713450))
    twins = ebsd("twins.ctf")[0].phase.attrs
    assert (twins["beam_energy_kV"], twins["magnification"]) == (20.0, 400.0)
    assert (twins["tilt_angle_degree"], twins["coverage_percent"]) == (70.0, 96.2)


def test_stale_header_of_s00_is_a_warning_naming_both_grids(ebsd):
    _, _, notes = ebsd("S00.ANG")
    (note,) = [n for n in notes if "header" in n]
    assert "S00.ANG" in note
    for text in ("NCOLS_ODD 140 (data: 35)", "NROWS 160 (data: 40)", "XSTEP 0.1 (data: 0.4)"):
        assert text in note


@pytest.mark.parametrize("name", ["sdss_ferrite_austenite.ang", "twins.ctf"])
def test_consistent_files_load_without_warnings(ebsd, name):
    assert ebsd(name)[2] == []


def test_acom_unit_is_recorded_as_assumed_and_warned(ebsd):
    ds, tree, notes = ebsd("ACOM.ang")
    assert ds.attrs["scan_unit"] == "nm" and "assumed" in ds.attrs["scan_unit_source"]
    parameters = tree.attrs["fusion"]["provenance"]["activities"]["load"]["parameters"]
    assert "assumed" in parameters["scan_unit_source"]
    assert any("ACOM.ang" in n and "does not state its length unit" in n for n in notes)


def test_voxel_size_sets_the_step_of_a_file_without_unit(instruments):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LoaderWarning)
        tree = load("ebsd", instruments / "ebsd" / "ACOM.ang", voxel_size_um=0.002)
    ds = tree["ebsd"].to_dataset()
    assert ds.x.values[1] == pytest.approx(0.002)
    assert ds.attrs["scan_unit_source"] == "voxel_size_um given by the user"


def test_orientation_conversion_is_its_own_activity(ebsd):
    ds, tree, _ = ebsd("twins.ctf")
    activities = tree.attrs["fusion"]["provenance"]["activities"]
    assert ds.orientation.attrs["provenance"] == "convert"
    assert activities["convert"]["generated"] == ["/ebsd/orientation"]
    assert "/ebsd/orientation" not in activities["load"]["generated"]


def test_interactive_ctf_point_list_is_refused(instruments):
    path = instruments / "ebsd" / "eclogite.ctf"
    with pytest.raises(LoaderError, match="JobMode Interactive") as info:
        load("ebsd", path)
    assert "eclogite.ctf" in str(info.value) and "not on a grid" in str(info.value)


ANG_HEADER = """# Phase 1
# MaterialName  Test phase
# Symmetry      43
# LatticeConstants 3.0 3.0 3.0 90 90 90
# GRID: {grid}
"""


def _write_ang(path, grid, points):
    rows = [f"0.1 0.2 0.3 {x} {y} 100 0.9 1 1 0.5" for x, y in points]
    path.write_text(ANG_HEADER.format(grid=grid) + "\n".join(rows) + "\n")
    return path


def test_scattered_points_are_refused(tmp_path):
    points = [(x, y) for y in (0.0, 1.0, 2.0) for x in (0.0, 1.0, 2.0)]
    points[4] = (1.3, 1.0)  # one point off its node
    path = _write_ang(tmp_path / "scattered.ang", "SqrGrid", points)
    with pytest.raises(LoaderError, match="grid") as info:
        load("ebsd", path)
    assert "scattered.ang" in str(info.value)


def test_hexagonal_grid_is_refused(tmp_path):
    points = [(x + 0.5 * (y % 2), y) for y in (0.0, 1.0) for x in (0.0, 1.0)]
    path = _write_ang(tmp_path / "hex.ang", "HexGrid", points)
    with pytest.raises(LoaderError, match="HexGrid"):
        load("ebsd", path)


BROKEN_HEADERS = {
    "symmetry": ("# Symmetry              43", "# Symmetry              xx", "must be of type"),
    "lattice": ("# LatticeConstants      3.595 3.595 3.595", "# LatticeConstants abc", "float"),
    "cut": (None, None, "orix cannot read it"),  # the header ends inside the phase list
    "name": ("# MaterialName    austenite/austenite", "# Mat\x00", "broken header.*1 names"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_HEADERS))
def test_an_ang_with_a_broken_header_is_refused_in_one_line(broken, instruments, tmp_path):
    from fusion.cli import main as fusion_main

    text = (instruments / "ebsd" / "sdss_ferrite_austenite.ang").read_text(encoding="utf-8")
    old, new, problem = BROKEN_HEADERS[broken]
    text = "\n".join(text.splitlines()[:20]) + "\n" if old is None else text.replace(old, new, 1)
    path = tmp_path / f"broken-{broken}.ang"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoaderError, match=problem) as info:
        load("ebsd", path)
    assert path.name in str(info.value)
    out = tmp_path / "never.zarr"
    assert fusion_main(["load", "ebsd", str(path), "-o", str(out)]) == 2
    assert not out.exists()


def test_a_phase_name_orix_does_not_take_is_refused(instruments, tmp_path):
    text = (instruments / "ebsd" / "sdss_ferrite_austenite.ang").read_text(encoding="utf-8")
    path = tmp_path / "nameless.ang"  # orix would give phase 1 the name of phase 2
    path.write_text(text.replace("austenite/austenite", "", 2), encoding="utf-8")
    with pytest.raises(LoaderError, match=r"nameless\.ang: broken header: phase 1 has an empty"):
        load("ebsd", path)


@quiet
def test_points_in_any_order_land_on_the_same_grid(instruments, tmp_path):
    """Scans write points in raster order (reshaped); any other order is scattered."""
    source = instruments / "ebsd" / "sdss_ferrite_austenite.ang"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    data = [line for line in lines if not line.startswith("#")]
    order = np.random.default_rng(0).permutation(len(data))
    shuffled = tmp_path / "shuffled.ang"
    shuffled.write_text("".join(header + [data[i] for i in order]), encoding="utf-8")
    ordered, scattered = (load("ebsd", p)["ebsd"].to_dataset() for p in (source, shuffled))
    for name, channel in ordered.data_vars.items():
        np.testing.assert_array_equal(channel.values, scattered[name].values, err_msg=name)
