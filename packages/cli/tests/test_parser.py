"""Unknown arguments are named first, by the command, every verb and every nested action."""

from __future__ import annotations

import argparse

import pytest

from fusion.cli import main
from fusion.cli._main import build_parser
from fusion.cli._parser import FusionArgumentParser


def verbs() -> list[str]:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


def error_of(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_generate_names_the_unknown_flag_before_the_missing_ones(capsys):
    error = error_of(["generate", "model:slicegan-nmc", "--frobnicate"], capsys)
    assert error == "fusion generate: error: unrecognized arguments: --frobnicate"


@pytest.mark.parametrize("verb", verbs())
def test_every_verb_names_an_unknown_flag(verb, capsys):
    error = error_of([verb, "--frobnicate"], capsys)
    assert error.startswith(f"fusion {verb}: error: unrecognized arguments: --frobnicate")


def test_the_command_and_a_nested_action_name_it_too(capsys):
    assert error_of(["--frobnicate"], capsys) == (
        "fusion: error: unrecognized arguments: --frobnicate"
    )
    assert error_of(["registry", "check", "--frobnicate", "x"], capsys) == (
        "fusion registry check: error: unrecognized arguments: --frobnicate x"
    )


def test_missing_arguments_are_still_named_when_nothing_is_unknown(capsys):
    error = error_of(["generate", "model:slicegan-nmc"], capsys)
    assert (
        error
        == "fusion generate: error: the following arguments are required: --shape, -o/--output"
    )


def test_help_and_usage_show_requirements_as_declared(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help", "--frobnicate"])
    out = capsys.readouterr().out
    assert "--shape Z Y X" in out and "[--shape" not in out
    assert "-o OUTPUT" in out and "[-o OUTPUT]" not in out


def test_required_groups_and_positionals_are_required_again_afterwards(capsys):
    parser = FusionArgumentParser(prog="demo")
    parser.add_argument("path")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--a", action="store_true")
    group.add_argument("--b", action="store_true")
    with pytest.raises(SystemExit):
        parser.parse_args(["--zzz"])
    assert capsys.readouterr().err.endswith("demo: error: unrecognized arguments: --zzz\n")
    with pytest.raises(SystemExit):
        parser.parse_args(["p"])
    assert "one of the arguments --a --b is required" in capsys.readouterr().err
    assert parser.parse_args(["p", "--a"]) == argparse.Namespace(path="p", a=True, b=False)
    assert [a.required for a in parser._actions] == [False, True, False, False]
    assert group.required


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(action.choices)


def test_a_verb_loads_only_what_it_needs():
    assert _choices(build_parser("validate")) == {"validate"}
    assert {"generate", "segment"} <= _choices(build_parser("generate"))  # the model tasks
    assert "show" not in _choices(build_parser("generate"))
    assert _choices(build_parser("frobnicate")) == set(verbs())  # unknown: every verb
    assert _choices(build_parser(None)) == set(verbs())


def test_fusion_example_does_not_import_the_plotting_stack(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from fusion.cli import main; "
        f"code = main(['example', '-o', {str(tmp_path / 'd.zarr')!r}]); "
        "print(code, 'matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr
