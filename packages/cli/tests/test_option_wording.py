"""Messages that name an option: the Python API says the keyword (``overwrite=True``), the
``fusion`` command only the flag (``--overwrite``)."""

from __future__ import annotations

import pytest

from fusion.cli import main
from fusion.schema import WriteError, make_example, push, write


def test_an_existing_dataset_names_the_keyword_in_python_and_the_flag_in_the_command(
    tmp_path, capsys
):
    dest = tmp_path / "a.zarr"
    write(make_example(size="tiny"), dest)
    with pytest.raises(WriteError) as caught:
        write(make_example(size="tiny"), dest)
    assert "overwrite=True" in str(caught.value) and "--overwrite" not in str(caught.value)
    assert main(["example", "-o", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite to replace it" in err and "overwrite=True" not in err


def test_a_foreign_push_destination_names_the_flag_in_the_command(tmp_path, capsys):
    source = write(make_example(size="tiny"), tmp_path / "s.zarr")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(WriteError) as caught:
        push(source, foreign)
    assert "overwrite=True" in str(caught.value) and "(--" not in str(caught.value)
    assert main(["push", source, str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite to replace them" in err and "overwrite=True" not in err


def test_no_message_of_the_libraries_names_a_flag_in_parentheses():
    """The pattern of issue #25: ``keyword=value (--flag)`` in a library message."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for part in ("schema", "loaders")
        for path in (root / part / "src").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\(--[a-z]", line) or "on the command line --" in line
    ]
    assert offenders == []


def test_a_fuse_output_that_exists_names_the_keyword_in_python_and_the_flag_in_the_command(
    tmp_path, capsys
):
    from pathlib import Path

    from fusion.fuse import fuse

    recipe = Path(__file__).resolve().parents[3] / "docs" / "examples" / "nmc-fusion.yaml"
    out = write(make_example(size="tiny"), tmp_path / "out.zarr")
    with pytest.raises(FileExistsError) as caught:
        fuse(recipe, out)
    assert "pass overwrite=True" in str(caught.value) and "--overwrite" not in str(caught.value)
    assert main(["fuse", str(recipe), "-o", out]) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite to replace it" in err and "overwrite=True" not in err
