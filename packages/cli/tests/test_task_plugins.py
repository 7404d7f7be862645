"""Another group's task package plugs in without a change to ours.

The test writes a throwaway distribution: a module with a trivial ``count-2d`` task and a
``.dist-info`` whose ``entry_points.txt`` registers it in ``fusion.tasks``, on a folder that a
subprocess gets on its ``PYTHONPATH`` (installed, as far as ``importlib.metadata`` can tell);
plus a registry with one ``count-2d`` entry (an ONNX Identity graph made with onnx.helper, and
its test tensors). ``fusion registry check`` must run the task's check, and ``fusion`` must
list and run its verb. The commands run in one subprocess (``fusion.cli.main``, as
``python -m fusion.cli`` calls it), so that the package's imports are paid once.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fusion.registry.testing import sha, tiny_card, write_registry

TASK_MODULE = '''
"""A trivial task: counts the values of a model's test tensors; verb ``fusion count``."""

import numpy as np

from fusion.registry.tasks import Task


class Count2D(Task):
    name = "count-2d"
    description = "count the values of 2D images"

    def card_problems(self, card):
        return [] if card.latent is None else ["count-2d takes no latent"]

    def check(self, request, result):
        with np.load(request.test_tensors) as npz:
            total = sum(npz[name].size for name in npz.files)
        result.passed.append(f"counted {total} values of {request.ref}")

    def register_cli(self, subparsers):
        parser = subparsers.add_parser("count", help="count the numbers given")
        parser.add_argument("numbers", nargs="*", type=float)
        parser.set_defaults(run=run_count)


def run_count(args):
    print(f"counted {len(args.numbers)} numbers")
    return 0
'''


def write_task_package(site: Path) -> Path:
    """``count_task`` and its ``.dist-info`` in ``site``, as an installer would leave them."""
    site.mkdir(parents=True)
    (site / "count_task.py").write_text(TASK_MODULE, encoding="utf-8")
    info = site / "count_task-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: count-task\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[fusion.tasks]\ncount-2d = count_task:Count2D\n", encoding="utf-8"
    )
    return site


def write_count_registry(folder: Path) -> Path:
    """A registry with ``model:counter@0.1.0``: an Identity graph (b, 1, y, x) and its tensors."""
    from onnx import TensorProto, helper, save

    folder.mkdir(parents=True)
    shape = ["b", 1, "h", "w"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["grey"])],
        "counter",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("grey", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    save(model, folder / "counter.onnx")
    image = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    np.savez(folder / "counter-test.npz", image=image, grey=image)
    card = copy.deepcopy(tiny_card("counter-test.npz", sha(folder / "counter-test.npz"), 0, 0))

    def axes() -> list[dict]:  # a fresh list each time: YAML would write a shared one as an alias
        return [
            {"name": "b", "type": "batch"},
            {"name": "c", "type": "channel", "size": 1},
            {"name": "y", "type": "space"},
            {"name": "x", "type": "space"},
        ]

    card.pop("latent")
    card["task"] = "count-2d"
    card["description"] = "An identity model whose task counts values."
    card["inputs"] = [{"name": "image", "description": "grey", "dtype": "float32", "axes": axes()}]
    card["outputs"] = [{"name": "grey", "description": "grey", "dtype": "float32", "axes": axes()}]
    card["channels"] = [
        {"tensor": "grey", "name": "grey", "transform": "identity", "dtype": "float32",
         "long_name": "grey value", "units": "1", "modality": "SEM"},
    ]  # fmt: skip
    card["test_tensors"].update(size=(folder / "counter-test.npz").stat().st_size, seed=None)
    entry = {
        "url": "counter.onnx",
        "sha256": sha(folder / "counter.onnx"),
        "size": (folder / "counter.onnx").stat().st_size,
        "card": card,
    }
    return write_registry(folder / "registry.yaml", models={"counter": {"0.1.0": entry}})


@pytest.fixture(scope="module")
def plugged(tmp_path_factory):
    """(environment with the task package on PYTHONPATH, registry file)."""
    root = tmp_path_factory.mktemp("plugin")
    site = write_task_package(root / "site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUSION_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["FUSION_CACHE"] = str(root / "cache")
    return env, write_count_registry(root / "registry")


RUN_COMMANDS = """
import contextlib, io, json, sys
from fusion.cli import main

done = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    done.append([code, out.getvalue()])
print(json.dumps(done))
"""


def fusion(env: dict[str, str], *commands: list[str]) -> list[tuple[int, str]]:
    """(exit code, stdout) of each ``fusion`` command, run one after the other in one new
    Python process (the imports of ``fusion`` cost seconds: once, not per command)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMMANDS, json.dumps(commands)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [tuple(result) for result in json.loads(done.stdout.splitlines()[-1])]


def test_registry_check_and_the_command_use_the_plugged_in_task(plugged):
    env, registry = plugged
    (checked, checked_out), (listed, help_out), (ran, ran_out) = fusion(
        env, ["registry", "check", "--registry", str(registry)], ["--help"], ["count", "1", "2"]
    )
    assert checked == 0, checked_out
    assert "ok      model:counter@0.1.0 (hash, card, counted 24 values of model:counter@0.1.0)" in (
        checked_out
    )
    assert checked_out.splitlines()[-1].endswith("registry.yaml: 1 checked, 0 failed")
    assert listed == 0 and "count the numbers given" in help_out
    assert "generate" in help_out and "segment" in help_out
    assert (ran, ran_out.strip()) == (0, "counted 2 numbers")


def test_without_the_package_the_entry_is_skipped_naming_the_installed_tasks(tmp_path):
    from fusion.registry import Cache, check_registry

    registry = write_count_registry(tmp_path / "registry")
    (found,) = check_registry(registry, cache=Cache(tmp_path / "cache")).results
    assert found.ok and found.passed == ["hash", "card"]
    assert found.skipped == [
        "task: skipped: no task 'count-2d' installed (entry-point group fusion.tasks; "
        "installed: generate-3d, segment-2d, super-resolve-3d)"
    ]
