"""Train the U-Net on SEM-like images rendered on the fly from real segmented NMC micrographs.

Usage (from the repository root, in the training environment)::

    OMP_NUM_THREADS=1 .venv-train/bin/python models/unet-nmc/train.py                   # train or resume
    OMP_NUM_THREADS=1 .venv-train/bin/python models/unet-nmc/train.py --max-iters 200   # short run
    .venv-train/bin/python models/unet-nmc/train.py --no-resume   # start again (old checkpoints set aside)
    .venv-train/bin/python models/unet-nmc/train.py --help        # every setting, with its default

What it does, and every flag with its default: `fusion.training.unet.train` (``--help``).
"""

from fusion.training.unet.train import main

if __name__ == "__main__":
    main()
