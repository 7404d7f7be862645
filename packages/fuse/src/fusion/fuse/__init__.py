"""fusion.fuse: from instrument files and registered models to one fused dataset, by recipe.

A recipe (`Recipe`, YAML ``fusion-recipe/1``) names the inputs (paths or fsspec URLs), the
steps — ``load`` (an instrument file, `fusion.loaders`), ``segment`` and ``generate`` (a
registered model, `fusion.models`), ``transfer`` (crystallography from EBSD or chemistry from
EELS onto a phase volume, `fusion.transfer`), ``place`` (scale groups of several steps into one
dataset, co-registered by coordinates) — and the output. `fuse` runs it (``fusion fuse RECIPE
-o OUT``): each step's result is kept under a key of its inputs and parameters and is not
computed twice, and the output's provenance links every channel to its files and models.
"""

from ._jsonschema import recipe_json_schema, write_recipe_schema
from ._place import PlacementError, merge_provenance, place
from ._recipe import RECIPE_FORMAT, Recipe, RecipeError, load_recipe
from ._runner import FuseResult, StepRun, default_work_dir, fuse, step_keys

__all__ = [
    "RECIPE_FORMAT",
    "FuseResult",
    "PlacementError",
    "Recipe",
    "RecipeError",
    "StepRun",
    "default_work_dir",
    "fuse",
    "load_recipe",
    "merge_provenance",
    "place",
    "recipe_json_schema",
    "step_keys",
    "write_recipe_schema",
]
