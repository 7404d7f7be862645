"""Train SliceGAN on segmented 2D images of an NMC cathode (pore / NMC / carbon-binder).

Usage (from the repository root):

    python models/slicegan-nmc/train.py                    # train, or continue from the latest checkpoint
    python models/slicegan-nmc/train.py --max-iters 20     # short run; Ctrl-C or SIGTERM saves and exits
    python models/slicegan-nmc/train.py --no-resume        # start again (old checkpoints move to previous-<time>/)
    python models/slicegan-nmc/train.py --help             # every setting, with its default
    # one slice of a 3D volume, or one slice per axis with one critic each (fusion.training.slicegan.training_data):
    python models/slicegan-nmc/train.py --image vol.tif --image-stride 1 --slice-axis 2 --slice-index 64
    python models/slicegan-nmc/train.py --image vol.tif --image-stride 1 --anisotropic

The training data is one 2D image (default: the SEM image), or one slice of a 3D volume; both train
the isotropic form, with one critic. `--anisotropic` trains the anisotropic form: the slice normal to
each axis of a 3D volume is the real image for that axis, and each axis has its own critic.

An "iteration" is one generator step preceded by `critic_iters` critic iterations; a critic iteration
updates the critic once per slicing axis (x, y, z), as in the SliceGAN reference code: the shared
critic (isotropic) or that axis's critic (anisotropic).
To keep a CPU run affordable the critic sees `slices_per_axis` randomly chosen slices of each generated
64^3 volume per axis instead of all 64 (an unbiased subsample of the same loss).

The generator that is evaluated and exported is an exponential moving average of the trained one
(weights and BatchNorm statistics, decay `ema_decay` per generator step; Karras et al., ICLR 2018;
Yazıcı et al., ICLR 2019): WGAN generators oscillate from step to step, their average does not.

Checkpoints (`ckpt_<iter>.safetensors`, no pickle) hold generator, its average, the critic(s) ("D", or "D0",
"D1", "D2" per axis) and all Adam states, the RNG
states, the iteration count and, as JSON in the safetensors header, the model and training configs.
They are written atomically every `ckpt_minutes` and on exit; `latest.json` beside them is a readable
summary. Resuming (the default) restores everything, so a stopped run continues exactly where it was.
Settings that shape the model or the optimisation cannot be changed on resume; run-control settings
(max_iters, threads, ckpt_minutes, log_every, eval_every, keep_*) can, and so can the data settings
`crop_padding` and `transpose_crops` (each change is logged and kept in the checkpoints as
`data_changes`).

A new run may instead start from a released export (`--init-from <version>/slicegan-nmc.onnx`,
with the export.json beside it; fusion.training.slicegan.warm_start): for when the checkpoints are gone. Its settings,
iteration count, time and data changes carry on; the trained and the averaged generator start
from the release's (averaged) weights; the critic and the optimiser states are new, and the critic
trains alone for `critic_warmup` rounds before the generator moves. Checkpoints record the warm
start (`warm_start`, with the release's own as `previous`), and so do export.json and the card.
A warm start may freeze BatchNorm (`--frozen-batchnorm`) and lower the learning rate (`--lr`) to
fine-tune the release; nothing else of its settings may change.

The code: `fusion.training.slicegan` (`config` for the settings, `train` for the loop).
"""

from fusion.training.slicegan.train import main

if __name__ == "__main__":
    main(description=__doc__)
