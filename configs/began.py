"""BEGAN prior (Berthelot, Schumm, Metz 2017) in the layout and recipe of carpedm20's
BEGAN-tensorflow: the 128x128 CelebA generator (z of 64 numbers, U(-1, 1)) that 003_* (IAGAN)
restores with, trained by the one training loop.

CelebA:  python -m jaxrestore.main --config=configs/began.py:celeba --workdir=runs/began_celeba
         (003_*'s prior: 128x128, tensorflow-datasets' celeb_a, prepared with
         `tfds build celeb_a --file_format=array_record`)
Faces:   python -m jaxrestore.main --config=configs/began.py --workdir=runs/began_faces
         (64x64 on the first 18,000 of ../shared/data/CelebA64; [18000:] stays held out)
Offline: python -m jaxrestore.main --config=configs/began.py:quick --workdir=runs/began_quick

G: linear z -> 8x8xn, blocks of two 3x3 convolutions + ELU with nearest x2 upsampling between
them, a 3x3 convolution to RGB (linear output); D: an autoencoder (3x3 convolutions + ELU with
widths n, 2n, 3n, ..., stride-2 convolutions between blocks, a 64-number code, then G's layout);
n = 128 for both (jaxrestore/models/began.py). The number of blocks follows from the image size,
``data.patch_size``: 5 at 128, 4 at 64. Loss (jaxrestore/training/methods/began.py): L1 reconstruction
error L, L_D = L(x) - k_t L(G(z)), L_G = L(G(z)), k_t += lambda_k (gamma L(x) - L(G(z))) clipped
to [0, 1], gamma 0.5, lambda_k 0.001, k_0 = 0; the convergence measure M is logged
(``train/measure``). Batch 16, 500,000 steps, no flips (the reference has none).

Optimizer, as the reference runs it: Adam at 8e-5 for G and D, halved after every 100,000
steps down to its floor of 2e-5 (``lr_update_step``, ``lr_lower_boundary``): the floor is
reached at the second halving, so ``lr_boundaries = (100000, 200000)`` with ``lr_decay = 0.5``
is the same schedule. Betas (0.9, 0.999), eps 1e-8: the reference's config.py declares
beta1 = 0.5 but its trainer builds ``AdamOptimizer(lr)`` without it, so TensorFlow's defaults
ran (``--config.optimizer.b1=0.5`` gives the declared value).

``:celeba``: CelebA's aligned 218x178 images through tensorflow-datasets (``tfds:celeb_a:train``,
162,770 images), the reference's box at row 50, column 25 (``tf.image.crop_to_bounding_box(x, 50,
25, 128, 128)``, ``data.crop_box=(50, 25, 128, 128)``), no resize: 128x128, 5 blocks. A 64x64
model on this data:
``--config.data.patch_size=64 --config.data.resize=64`` (Pillow's bilinear where the reference
takes every other pixel). 500,000 steps of 16 are 49 epochs.

Default (no preset): 64x64 (4 blocks) on the 64x64 real CelebA faces of ``../shared/data/CelebA64``
(tight face crops, not the reference's box), first 18,000 by file name.

``:quick``: 32x32 (3 blocks) at n = 32 on the built-in procedural faces (``procedural:faces``),
batch 16, lr 2e-4 without decay, 2,000 steps: sized for a CPU (``python -m jaxrestore.benchmark
--config=configs/began.py:quick`` times its step). It collapses to one face-like image early and
stays there, at gamma 0.5 as at 0.9 and at lr 8e-5 as at 2e-4: BEGAN's early phase (k_t near 0)
rewards G for the one image D reconstructs best. Measured figures: docs/papers/003-iagan.md.
"""

import pathlib
import sys

import ml_collections

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.get_config()
    c.method = "began"
    c.task = ml_collections.ConfigDict({"name": "generate"})
    c.model = ml_collections.ConfigDict({"generator": "began", "discriminator": "began", "z_dim": 64,
                                         "features": 128, "d_features": 128, "code_dim": 64})
    c.loss.gamma = 0.5
    c.loss.lambda_k = 0.001
    c.optimizer.g_lr = c.optimizer.d_lr = 8e-5
    c.optimizer.b1, c.optimizer.b2, c.optimizer.eps = 0.9, 0.999, 1e-8
    c.optimizer.lr_boundaries = (100_000, 200_000)
    c.optimizer.lr_decay = 0.5
    c.train.batch_size = 16
    c.train.num_steps = 500_000
    c.train.log_every = 50
    c.train.checkpoint_every = 5_000
    c.train.eval_every = 5_000
    c.train.grid_images = 8  # an 8x8 grid of samples
    c.data.train = "folder:../shared/data/CelebA64[:18000]"  # [18000:] is held out
    c.data.patch_size = 64
    c.data.augment = False
    c.data.skip_small_images = False
    c.data.epoch_images = 18_000
    return common.apply_preset(c, arg, {"quick": quick, "celeba": celeba})


def celeba(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    c.data.train = "tfds:celeb_a:train"
    c.data.crop_box = (50, 25, 128, 128)
    c.data.resize = 0
    c.data.patch_size = 128
    c.data.epoch_images = 162_770
    return c


def quick(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    c.model.features = 32
    c.model.d_features = 32
    c.optimizer.g_lr = c.optimizer.d_lr = 2e-4
    c.optimizer.lr_boundaries = ()
    c.train.num_steps = 2_000
    c.train.checkpoint_every = 500
    c.train.eval_every = 500
    c.data.train = "procedural:faces:count=50000:size=32:seed=0"
    c.data.patch_size = 32
    c.data.epoch_images = 50_000
    c.data.num_threads = 2
    c.data.prefetch_buffer = 2
    return c
