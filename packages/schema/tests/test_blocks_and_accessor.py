"""Block iteration (bounded memory, every chunk read once) and the .fusion accessors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from plain_stores import plain_tree

from fusion.schema import SchemaError, make_example
from fusion.schema.checks._data import iter_blocks
from fusion.schema.store._source import ArrayNode


def _node(shape, chunks, dtype="uint8") -> ArrayNode:
    return ArrayNode(
        path="/g/a", shape=shape, dtype=np.dtype(dtype), dims=None, attrs={},
        block_shape=chunks, read=lambda sel: np.zeros(0),
    )  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(1, 16), min_size=1, max_size=4).flatmap(
        lambda shape: st.tuples(
            st.just(tuple(shape)), st.tuples(*(st.integers(1, n) for n in shape))
        )
    ),
    st.integers(1, 4096),
)
def test_blocks_tile_the_array_once_aligned_to_chunks_and_bounded(shape_chunks, target):
    shape, chunks = shape_chunks
    covered = np.zeros(shape, dtype=np.int32)
    largest_chunk = int(np.prod(chunks))
    for sel in iter_blocks(_node(shape, chunks), target_bytes=target):
        covered[sel] += 1
        for s, c, n in zip(sel, chunks, shape, strict=True):
            assert s.start % c == 0  # starts on a chunk boundary
            assert (s.stop - s.start) % c == 0 or s.stop == n  # whole chunks
        size = int(np.prod([s.stop - s.start for s in sel]))
        assert size <= max(target, largest_chunk)  # memory bounded by the target or one chunk
    assert (covered == 1).all()


def test_data_level_memory_is_bounded_by_blocks_not_the_volume():
    blocks = list(iter_blocks(_node((1024, 1024, 1024), (64, 64, 64)), target_bytes=32 * 2**20))
    biggest = max(int(np.prod([s.stop - s.start for s in sel])) for sel in blocks)
    assert biggest <= 32 * 2**20
    assert len(blocks) == 1024**3 // biggest


def test_tree_accessor():
    tree = make_example(size="tiny")
    assert list(tree.fusion.scales) == ["particle", "electrode"]  # finest first
    assert tree.fusion.metadata.sample.material.startswith("LiNi0.6Mn0.2Co0.2O2")
    assert tree.fusion.provenance.activity_for("/electrode/grayscale")[0] == "render-grayscale"
    assert tree.fusion.validate(level="data").ok


def test_dataset_accessor_selects_channels():
    particle = make_example(size="tiny")["particle"].to_dataset()
    assert isinstance(particle.fusion.channels(modality="EBSD"), xr.Dataset)
    assert sorted(particle.fusion.channels(modality="EBSD").data_vars) == [
        "grain_id",
        "orientation",
    ]
    assert list(particle.fusion.channels(modality="EELS", origin="generated").data_vars) == [
        "composition"
    ]
    assert particle.fusion.origin_um == pytest.approx((0.6, 1.2, 1.2))


def test_voxel_size_of_a_2d_group_has_none_along_z():
    ds = plain_tree()["particle"].to_dataset().isel(z=[0])
    assert ds.fusion.voxel_size_um == (None, 0.5, 0.5)


def test_metadata_of_a_foreign_tree_is_a_schema_error():
    with pytest.raises(SchemaError, match="not a fusion dataset"):
        _ = xr.DataTree().fusion.metadata
