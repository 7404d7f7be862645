"""The figure in docs/models.md: a held-out slice of the real cube (truth), the baseline and
superres-nmc-xct from its coarse input; the real XCT's coarse input, superres-nmc's output
and a crop of the real SEM at the same pixel size.

``uv run python models/superres-nmc-xct/figure.py`` writes docs/images/superres.png.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tifffile
from matplotlib.colors import ListedColormap

from fusion.training._paths import MODELS, REPOSITORY, SHARED_DATA
from fusion.training.superres.data import block_majority
from fusion.training.superres.evaluate import baseline_upsampling, heldout_xct, run_onnx

PHASES = ListedColormap(["#1f1f1f", "#d62728", "#2ca02c"])


def main() -> None:
    micro = SHARED_DATA / "micrographs"
    cube = tifffile.imread(micro / "nmc_xct_3d_3phase_128cube.tif")
    held, lowres, share = heldout_xct(cube)
    x4 = run_onnx(MODELS / "superres-nmc-xct" / "0.1.0" / "superres-nmc-xct.onnx", lowres, 0)
    base = baseline_upsampling(lowres, 4, share)
    real = (tifffile.imread(micro / "nmc_lowres_3d_2phase_128cube.tif") == 128).astype(np.uint8)
    coarse = real[40:72, 40:72, 40:72]
    x8 = run_onnx(MODELS / "superres-nmc" / "0.1.0" / "superres-nmc.onnx", coarse, 0)
    sem = np.squeeze(tifffile.imread(micro / "nmc_sem_2d_3phase_628x758.tif")).astype(np.uint8)
    z = 32
    panels = [
        ("held-out truth (z = 96)", held[z]),
        ("its 4³ NMC majority", np.kron(block_majority(held, 4)[z // 4], np.ones((4, 4)))),
        ("baseline", base[z]),
        ("superres-nmc-xct", x4[z]),
        ("real XCT, coarse", np.kron(coarse[16], np.ones((8, 8)))),
        ("superres-nmc (×8)", x8[128]),
        ("real SEM, same pixel", sem[100:356, 250:506]),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.3))
    for ax, (title, image) in zip(axes, panels, strict=True):
        ax.imshow(image, cmap=PHASES, vmin=0, vmax=2, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    out = REPOSITORY / "docs" / "images" / "superres.png"
    fig.savefig(out, dpi=80)
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
