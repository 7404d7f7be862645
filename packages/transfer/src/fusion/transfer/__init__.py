"""fusion.transfer: properties measured on real instrument files, transferred onto a volume.

A generated phase volume has morphology but no crystallography or chemistry. This package
gives them from real files, loaded with ``fusion.loaders``:

- `add_crystallography`: the grains of a real EBSD map (`ebsd_grains`: neighbouring pixels
  joined below a misorientation threshold, with the crystal symmetry, via orix) set the size of
  grains grown in 3D in the crystal phase (`grow_grains`: nucleation and a Voronoi
  tessellation restricted to each particle, its density fitted so that grain sections on
  slices match the map's grains), and each grain gets an orientation drawn from the map's
  (`assign_orientations`). Channels ``grain_id`` and ``orientation``.
- `add_chemistry`: the mean spectra of a real EELS file given to phases (`phase_spectra`),
  stored once per phase with a ``spectrum_id`` channel saying which one each voxel carries
  (`voxel_spectra` expands them).

Every channel made here is ``origin: generated``, made by a ``transfer`` activity that used the
file's entity (name, sha256) copied from the loaded tree, and the phase channel. The input
trees are never changed: each ``add_*`` returns a new tree. See ``docs/transfer.md``.
"""

from ._chemistry import add_chemistry, phase_spectra, voxel_spectra
from ._crystallography import add_crystallography
from ._ebsd import GrainMap, ebsd_grains
from ._errors import TransferError, TransferWarning
from ._growth import GrowthFit, grow_grains, section_diameters_um
from ._orientations import assign_orientations

__all__ = [
    "GrainMap",
    "GrowthFit",
    "TransferError",
    "TransferWarning",
    "add_chemistry",
    "add_crystallography",
    "assign_orientations",
    "ebsd_grains",
    "grow_grains",
    "phase_spectra",
    "section_diameters_um",
    "voxel_spectra",
]
