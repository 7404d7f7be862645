"""fusion.show: look at a fused dataset before using it.

`show` opens a dataset with plain xarray and writes three orthogonal slices of each voxel
channel as one PNG (`render` gives the matplotlib Figure): phases in their ``flag_colors``,
scalars with a colour bar in their units, orientations as inverse-pole-figure colours of the
sample z direction (orix), compositions as their most varying element, a scale bar in µm.
The ``fusion show`` verb is a thin layer over `show`.
"""

from importlib.metadata import version as _version

from ._errors import ShowError
from ._show import Shown, render, show

__version__ = _version("fusion-show")

__all__ = ["ShowError", "Shown", "__version__", "render", "show"]
