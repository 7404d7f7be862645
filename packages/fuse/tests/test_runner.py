"""`fusion fuse`: a recipe over real instrument files and test-sized models, end to end; step
results are keyed by their inputs and parameters and never computed twice."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib

import numpy as np
import pytest
import xarray as xr
from fuse_helpers import SEM, XCT, small_recipe, write_recipe

from fusion.cli import main
from fusion.fuse import RecipeError, fuse
from fusion.schema import validate


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_registry):
    """One run of the small recipe, shared by the tests that only read its output."""
    tmp = tmp_path_factory.mktemp("fuse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(tmp / "cache"))
        recipe = write_recipe(tmp / "recipe.yaml", small_recipe())
        result = fuse(recipe, tmp / "out.zarr", work=tmp / "work", registry=str(tiny_registry))
    return tmp, recipe, result


def test_the_output_validates_and_opens_in_plain_xarray(first_run):
    tmp, _, result = first_run
    assert result.ran == ["sem", "sem-phase", "particle", "xct", "fused"]
    report = validate(tmp / "out.zarr", level="data")
    assert report.ok, str(report)
    tree = xr.open_datatree(tmp / "out.zarr", engine="zarr")
    assert sorted(tree.children) == ["electrode", "particle", "sem"]
    assert tree["sem"].phase.attrs["flag_meanings"] == "pore NMC CBD"
    assert tree["electrode"].grayscale.shape == (10, 728, 728)
    assert tree.attrs["fusion"]["title"] == "test fusion"


def test_the_particle_group_is_centred_inside_the_electrode_group(first_run):
    tmp = first_run[0]
    tree = xr.open_datatree(tmp / "out.zarr", engine="zarr")
    electrode, particle = tree["electrode"], tree["particle"]
    for dim in "zyx":
        e, p = electrode[dim].values, particle[dim].values
        e_step, p_step = e[1] - e[0], p[1] - p[0]
        assert p_step == pytest.approx(0.05)  # the tiny generator's card: 50 nm voxels
        e_centre = (e[0] + e[-1]) / 2
        p_centre = (p[0] + p[-1]) / 2
        assert p_centre == pytest.approx(e_centre)
        assert e[0] - e_step / 2 <= p[0] - p_step / 2 and p[-1] + p_step / 2 <= e[-1] + e_step / 2
    place = tree.attrs["fusion"]["provenance"]["activities"]["place"]
    assert place["parameters"]["particle"]["inside"] == "electrode"
    shift = place["parameters"]["particle"]["translation_um"]
    assert shift == pytest.approx([p[0] for p in (particle.z.values, particle.y.values,
                                                   particle.x.values)])  # fmt: skip


def test_every_channel_traces_back_to_its_files_and_models(first_run):
    tmp, recipe, _ = first_run
    tree = xr.open_datatree(tmp / "out.zarr", engine="zarr")
    graph = tree.attrs["fusion"]["provenance"]
    sources = {}
    for group in tree.children:
        for name, var in tree[group].data_vars.items():
            activity = graph["activities"][var.attrs["provenance"]]
            assert f"/{group}/{name}" in activity["generated"]
            sources[f"/{group}/{name}"] = _roots(graph, activity)
    sem_sha = hashlib.sha256(SEM.read_bytes()).hexdigest()
    assert {e["sha256"] for e in sources["/sem/phase"] if e["type"] == "file"} == {sem_sha}
    assert {e["ref"] for e in sources["/sem/phase"] if e["type"] == "model"} == {
        "model:tiny-seg@0.1.0"
    }
    assert [e["ref"] for e in sources["/particle/phase"]] == ["model:tiny-gen@0.1.0"]
    assert [e["name"] for e in sources["/electrode/grayscale"]] == ["cylindrical_cell_slices"]
    fused = graph["activities"]["fuse"]
    assert (
        graph["entities"][fused["used"][0]]["sha256"]
        == hashlib.sha256(recipe.read_bytes()).hexdigest()
    )
    assert list(fused["parameters"]["steps"]) == ["sem", "sem-phase", "particle", "xct", "fused"]


def test_the_fuse_activity_ends_when_the_output_is_written(first_run):
    """The output's arrays are copied from the work folder inside the final write: the
    ``fuse`` activity ends after its last chunk was stored, not when its graph was made."""
    tmp, _, _ = first_run
    out = tmp / "out.zarr"
    fusion = xr.open_datatree(out, engine="zarr").attrs["fusion"]
    activities = fusion["provenance"]["activities"]
    ended = dt.datetime.fromisoformat(activities["fuse"]["ended"])
    chunks = [p for p in out.rglob("*") if p.is_file() and "c" in p.relative_to(out).parts]
    last_chunk = dt.datetime.fromtimestamp(max(p.stat().st_mtime for p in chunks), dt.UTC)
    assert ended >= last_chunk.replace(microsecond=last_chunk.microsecond // 1000 * 1000)
    assert all(dt.datetime.fromisoformat(a["ended"]) <= ended for a in activities.values())
    assert fusion["modified"] == activities["fuse"]["ended"]


def _roots(graph: dict, activity: dict) -> list[dict]:
    """The entities an activity used, following used channels to the activities that made them."""
    found = []
    for ref in activity.get("used", []):
        if ref.startswith("/"):
            maker = next(a for a in graph["activities"].values() if ref in a.get("generated", []))
            found += _roots(graph, maker)
        else:
            found.append(graph["entities"][ref])
    return found


def test_a_second_run_runs_no_step_and_writes_the_same_values(first_run, tiny_registry):
    tmp, recipe, _ = first_run
    again = fuse(recipe, tmp / "again.zarr", work=tmp / "work", registry=str(tiny_registry))
    assert again.ran == []
    a = xr.open_datatree(tmp / "out.zarr", engine="zarr")
    b = xr.open_datatree(tmp / "again.zarr", engine="zarr")
    for group in a.children:
        xr.testing.assert_identical(a[group].to_dataset(), b[group].to_dataset())


def test_changing_one_parameter_reruns_that_step_and_what_reads_it(first_run, tiny_registry):
    tmp, _, _ = first_run
    recipe = small_recipe()
    recipe["steps"][2]["seed"] = 4  # the generated particle volume
    path = write_recipe(tmp / "seed4.yaml", recipe)
    result = fuse(path, tmp / "seed4.zarr", work=tmp / "work", registry=str(tiny_registry))
    assert result.ran == ["particle", "fused"]
    a = xr.open_datatree(tmp / "out.zarr", engine="zarr")["particle"].phase.values
    b = xr.open_datatree(tmp / "seed4.zarr", engine="zarr")["particle"].phase.values
    assert not np.array_equal(a, b)


def test_an_existing_output_is_refused_before_anything_runs(env, tiny_registry):
    out = env / "out.zarr"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    recipe = write_recipe(env / "recipe.yaml", small_recipe())
    with pytest.raises(FileExistsError, match="exists"):
        fuse(recipe, out, work=env / "work")
    assert (out / "keep.txt").read_text() == "mine"
    assert not (env / "work" / "steps").exists() or not any((env / "work" / "steps").iterdir())


def test_a_step_that_fails_names_itself_and_keeps_earlier_results(env):
    recipe = small_recipe()
    bad = {"id": "bad", "op": "segment", "from": "particle", "model": "model:tiny-seg"}
    recipe["steps"].insert(3, bad)  # a phase volume has no grayscale channel to segment
    path = write_recipe(env / "bad.yaml", recipe)
    with pytest.raises(RecipeError, match=r"step 'bad' \(segment\): .*grayscale"):
        fuse(path, env / "out.zarr", work=env / "work")
    made = sorted(p.name.rsplit("-", 1)[0] for p in (env / "work" / "steps").iterdir())
    assert made == ["particle", "sem", "sem-phase"]
    assert not (env / "out.zarr").exists()


def test_a_changed_input_file_is_noticed_by_its_digest(env, tmp_path):
    copied = tmp_path / "sem.tif"
    copied.write_bytes(SEM.read_bytes())
    recipe = copy.deepcopy(small_recipe())
    recipe["inputs"]["sem"] = {"url": "sem.tif", "sha256": "0" * 64}  # relative to the recipe
    path = write_recipe(tmp_path / "recipe.yaml", recipe)
    with pytest.raises(RecipeError, match=r"input 'sem': .*sem.tif has sha256 [0-9a-f]{64}"):
        fuse(path, env / "out.zarr", work=env / "work")


def test_the_command_line_reports_each_step_and_what_was_reused(env, capsys):
    recipe = write_recipe(env / "recipe.yaml", small_recipe())
    argv = ["fuse", str(recipe), "-o", str(env / "a.zarr"), "--work", str(env / "work"),
            "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert "5 steps, 5 ran, 0 reused" in capsys.readouterr().out
    argv[3] = str(env / "b.zarr")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "5 steps, 0 ran, 5 reused" in captured.out
    assert "step sem-phase (segment): reused" in captured.err
    assert main([*argv[:3], str(env / "b.zarr"), "--work", str(env / "work")]) == 2  # exists
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_inputs_given_as_urls_are_fetched_once_and_keyed_by_content(env):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe("/lab/sem.tif", SEM.read_bytes())
    for tif in sorted(XCT.iterdir()):
        memory.pipe(f"/lab/xct/{tif.name}", tif.read_bytes())
    recipe = small_recipe()
    recipe["inputs"] = {"sem": {"url": "memory://lab/sem.tif"},
                        "xct": {"url": "memory://lab/xct"}}  # fmt: skip
    by_url = write_recipe(env / "urls.yaml", recipe)
    result = fuse(by_url, env / "a.zarr", work=env / "work")
    fetched = sorted(p.name for p in (env / "work" / "inputs").glob("*/[!.]*"))
    assert fetched == ["sem.tif", "xct"]
    # the same bytes from a local path: same digests, so no load step runs again
    local = write_recipe(env / "local.yaml", small_recipe())
    again = fuse(local, env / "b.zarr", work=env / "work")
    assert "sem" in result.ran and again.ran == []
