"""Recipes are checked before anything runs; every mistake is one line naming the file and field."""

from __future__ import annotations

import pytest
from fuse_helpers import small_recipe, write_recipe

from fusion.fuse import RecipeError, load_recipe


def test_the_small_recipe_reads_back_with_its_steps(tmp_path):
    recipe, raw = load_recipe(write_recipe(tmp_path / "r.yaml", small_recipe()))
    assert [s.op for s in recipe.steps] == ["load", "segment", "generate", "load", "place"]
    assert recipe.output_step == "fused"
    assert recipe.step("sem-phase").source == "sem"  # `from` in YAML
    assert raw.startswith(b"recipe: fusion-recipe/1")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(recipe="fusion-recipe/9"), "`recipe: fusion-recipe/1` must be"),
        (lambda r: r["steps"][1].update({"from": "particle"}),
         "step 'sem-phase' reads 'particle', which is not an earlier step"),
        (lambda r: r["steps"][3].update(id="sem"), "step id 'sem' is used twice"),
        (lambda r: r["steps"][0].update(input="ebsd"), "loads input 'ebsd', which is not one of"),
        (lambda r: r["steps"][2].update(op="train"), "steps.2 (step 'particle'): Input tag 'train'"),
        (lambda r: r["steps"][2].update(shape=[4, 4]),
         "steps.2.shape (step 'particle'): List should have at least 3 items"),
        (lambda r: r["steps"][0].update(kind="afm"), "steps.0.kind (step 'sem'): Input should be"),
        (lambda r: r["steps"][4]["groups"]["particle"].update(inside="cell"),
         "is to lie inside 'cell', which is not one of"),
        (lambda r: r["steps"][0].update(colour="red"), "steps.0.colour (step 'sem'): Extra inputs are not permitted"),
        (lambda r: r.update(output="nowhere"), "output 'nowhere' is not a step"),
    ],
)  # fmt: skip
def test_a_bad_recipe_is_refused_naming_the_file_and_the_field(tmp_path, edit, message):
    recipe = small_recipe()
    edit(recipe)
    path = write_recipe(tmp_path / "bad.yaml", recipe)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_text_that_is_not_yaml_or_not_a_mapping_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [unclosed\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: not YAML"):
        load_recipe(bad)
    bad.write_text("- a list\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: a recipe is a YAML mapping, got list"):
        load_recipe(bad)
