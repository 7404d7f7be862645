"""fusion.analysis: what modelling codes need from a fused dataset.

Functions on plain numpy arrays or xarray DataArrays (the voxel size then comes from the
``z``, ``y``, ``x`` coordinates, in µm): `volume_fractions`, `specific_surface_area` (µm⁻¹),
`tortuosity_factor` (TauFactor's definition, solved with scipy; no torch) and
`grain_size_distribution` (equivalent-sphere diameters in µm).
"""

from importlib.metadata import version as _version

from ._errors import AnalysisError
from ._fractions import volume_fractions
from ._grains import grain_size_distribution
from ._surface import ISOTROPIC_CORRECTION, specific_surface_area
from ._tortuosity import Tortuosity, tortuosity_factor

__version__ = _version("fusion-analysis")

__all__ = [
    "ISOTROPIC_CORRECTION",
    "AnalysisError",
    "Tortuosity",
    "__version__",
    "grain_size_distribution",
    "specific_surface_area",
    "tortuosity_factor",
    "volume_fractions",
]
