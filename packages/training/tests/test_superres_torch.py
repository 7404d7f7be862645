"""The super-resolution generator (torch): its size rule, the exact tiling it promises, and
the runtime form the export uses.

Needs the training environment (torch); skipped where torch is not installed (CI). Run it
there with ``.venv-train/bin/python -m pytest packages/training/tests/test_superres_torch.py``.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fusion.training.superres.model import (  # noqa: E402
    CONTEXT,
    Critic,
    SuperResConfig,
    SuperResGenerator,
)


def tiny(scale: int, last: str = "transpose") -> SuperResGenerator:
    """``last``: the last upsampling; ``all-nearest``: every upsampling nearest."""
    torch.manual_seed(0)
    widths = (8, 4, 4)[: {4: 2, 8: 3}[scale]]
    config = SuperResConfig(
        scale=scale, nz=2, trunk_width=8, stage_widths=widths,
        last_upsample="transpose" if last == "transpose" else "nearest",
        upsample="nearest" if last == "all-nearest" else "transpose",
    )  # fmt: skip
    return SuperResGenerator(config).eval()


LAST = pytest.mark.parametrize("last", ["transpose", "nearest", "all-nearest"])


@LAST
@pytest.mark.parametrize("scale", [4, 8])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_n_plus_context_cells_give_scale_times_n_voxels(scale, n, last):
    out = tiny(scale, last)(torch.randn(1, 3, n + 2 * CONTEXT, n + 2 * CONTEXT, n + 2 * CONTEXT))
    assert out.shape == (1, 3, scale * n, scale * n, scale * n)


@LAST
@pytest.mark.parametrize("scale", [4, 8])
def test_overlapping_windows_give_the_voxels_of_one_pass(scale, last):
    G = tiny(scale, last)
    x = torch.randn(1, 3, 16, 12, 12)  # 8 × 4 × 4 cells of output
    with torch.no_grad():
        whole = G(x)
        first, second = G(x[:, :, :12]), G(x[:, :, 4:])  # windows overlap by 2·CONTEXT
    stitched = torch.cat([first, second], 2)
    torch.testing.assert_close(stitched, whole, rtol=1e-5, atol=1e-5)


@LAST
@pytest.mark.parametrize("scale", [4, 8])
def test_the_runtime_form_is_the_same_function(scale, last):
    G = tiny(scale, last)
    x = torch.randn(2, 3, 11, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(G.runtime_forward(x), G(x), rtol=1e-5, atol=1e-5)


def test_the_critic_scores_slices_of_any_size():
    critic = Critic(SuperResConfig())
    assert critic(torch.rand(5, 3, 32, 32)).shape == (5,)
    assert critic(torch.rand(2, 3, 64, 48)).shape == (2,)


def test_a_scale_needs_log2_scale_stages():
    with pytest.raises(ValueError, match="log2"):
        SuperResConfig(scale=8, stage_widths=(8, 4))


def test_nearest_children_of_one_cell_start_as_copies():
    """The 1×1×1 map then copies: before the last convolution, the 2³ children of a coarse
    cell are equal, so no period-2 pattern can come from the upsampling itself."""
    G = tiny(4, "nearest")
    up = G.ups[-1]
    x = torch.randn(1, 8, 3, 3, 3)
    children = torch.nn.functional.interpolate(torch.relu(up(x)), scale_factor=2)
    assert torch.equal(children[..., 0::2, 0::2, 0::2], children[..., 1::2, 1::2, 1::2])
