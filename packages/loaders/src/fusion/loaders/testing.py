"""A conformance suite every loader's tests subclass.

Subclass `LoaderConformance`, set ``kind`` and ``suffix``, and provide a ``path`` fixture
parametrized over real files (the ``instruments`` fixture of the repository's conftest
resolves names in ../shared/data/instruments)::

    class TestEbsdConformance(LoaderConformance):
        kind = "ebsd"
        suffix = ".ang"

        @pytest.fixture(params=["ebsd/S00.ANG", "ebsd/ACOM.ang"])
        def path(self, request, instruments):
            return instruments / request.param
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import xarray as xr

from fusion.base import hash_file
from fusion.cli import main as fusion_main
from fusion.schema import validate

from ._base import LoaderError, choose_loader, load

__all__ = ["LoaderConformance"]


class LoaderConformance:
    """Contract tests: conformance, provenance, metadata kept, clear refusals, nothing left."""

    kind: str
    suffix: str
    load_options: dict = {}  # noqa: RUF012  (subclasses replace it)

    @pytest.fixture
    def path(self) -> Path:  # pragma: no cover - subclasses override
        raise NotImplementedError

    @pytest.fixture
    def tree(self, path: Path) -> xr.DataTree:
        return load(self.kind, path, **self.load_options)

    def test_is_registered(self):
        assert choose_loader(self.kind).kind == self.kind

    def test_validates_at_level_data(self, tree):
        report = validate(tree, level="data")
        assert report.ok, str(report)
        assert not report.warnings, str(report)

    def test_file_entity_records_hash_and_size(self, tree, path):
        entities = tree.attrs["fusion"]["provenance"]["entities"]
        files = [e for e in entities.values() if e["type"] == "file"]
        assert files, "no file entity"
        if path.is_file():
            assert files[0]["sha256"] == hash_file(path)
            assert files[0]["size"] == path.stat().st_size

    def test_load_activity_names_the_reader(self, tree):
        activities = tree.attrs["fusion"]["provenance"]["activities"]
        loads = [a for a in activities.values() if a["type"] == "load"]
        assert loads
        reader = loads[0]["parameters"]["reader"]
        assert reader["name"] and reader["version"]

    def test_tree_is_what_the_public_constructors_build(self, tree):
        """The loaders build their tree directly (`._build`): it must equal the public way."""
        public = xr.DataTree.from_dict(
            {
                path: xr.Dataset(
                    {k: v.variable for k, v in node.data_vars.items()},
                    coords={
                        k: v.variable for k, v in node.to_dataset(inherit=False).coords.items()
                    },
                    attrs=node.attrs,
                )
                for path, node in tree.subtree_with_keys
            }
        )
        xr.testing.assert_identical(tree, public)
        for path, node in tree.subtree_with_keys:
            other = public if path == "." else public[path]
            assert node.parent is (None if path == "." else tree), path
            assert node.to_dataset(inherit=False).sizes == other.to_dataset(inherit=False).sizes
            assert set(node.xindexes) == set(other.xindexes), path
            for key, index in node.xindexes.items():
                assert type(index) is type(other.xindexes[key]), (path, key)
                assert index.equals(other.xindexes[key]), (path, key)

    def test_channels_keep_the_original_metadata(self, tree):
        for node in tree.subtree:
            for var in node.to_dataset(inherit=False).data_vars.values():
                assert isinstance(json.loads(var.attrs["original_metadata"]), dict)

    def test_cli_writes_a_dataset_plain_xarray_opens(self, path, tmp_path, capsys):
        out = tmp_path / "out.zarr"
        argv = ["load", self.kind, str(path), "-o", str(out), *self._cli_options()]
        assert fusion_main(argv) == 0, capsys.readouterr().err
        assert validate(out, level="data").ok
        assert xr.open_datatree(out, engine="zarr").attrs["fusion"]["schema"].startswith("fusion/")

    def _cli_options(self) -> list[str]:
        voxel = self.load_options.get("voxel_size_um")
        return ["--voxel-size", *map(str, voxel)] if voxel else []

    # -- bad input ------------------------------------------------------------------------------

    @pytest.fixture(params=["empty", "truncated", "text"])
    def bad_file(self, request, path, tmp_path) -> Path:
        bad = tmp_path / f"bad-{request.param}{self.suffix}"
        if request.param == "empty":
            bad.write_bytes(b"")
        elif request.param == "truncated":
            source = path if path.is_file() else sorted(path.iterdir())[0]
            data = source.read_bytes()
            bad.write_bytes(data[: max(1, len(data) // 3)])
        else:
            bad.write_text("this is a text file, not an instrument file\n" * 20)
        return bad

    def test_bad_input_is_a_loader_error_naming_the_file(self, bad_file):
        with pytest.raises(LoaderError) as info:
            load(self.kind, bad_file, **self.load_options)
        assert bad_file.name in str(info.value)

    def test_bad_input_on_the_command_line_is_one_line_and_exit_2(self, bad_file, tmp_path, capsys):
        out = tmp_path / "never.zarr"
        argv = ["load", self.kind, str(bad_file), "-o", str(out), *self._cli_options()]
        assert fusion_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and bad_file.name in err[0] and "Traceback" not in err[0]
        assert not out.exists()
        assert not [p for p in os.listdir(tmp_path) if p.startswith(".never.zarr")]
