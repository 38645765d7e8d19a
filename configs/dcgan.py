"""DCGAN prior for GAN-prior restoration (002_* Sec. 3.2, 4.1): the layout of carpedm20's
DCGAN-tensorflow that 002_*'s released code used, trained by the one training loop.

Launch:  python -m jaxrestore.main --config=configs/dcgan.py --workdir=runs/dcgan
Offline: python -m jaxrestore.main --config=configs/dcgan.py:quick --workdir=runs/dcgan_quick
Faces:   python -m jaxrestore.main --config=configs/dcgan.py:quick --workdir=runs/dcgan_faces \\
             "--config.data.train=folder:../shared/data/CelebA64[:18000]"
CelebA:  python -m jaxrestore.main --config=configs/dcgan.py:celeba --workdir=runs/dcgan_celeba
         (tensorflow-datasets' celeb_a, prepared with `tfds build celeb_a --file_format=array_record`)

G: z(100) -> 4x4x512 -> four 5x5 stride-2 transposed convolutions to 64x64x3 (BN, ReLU,
tanh at the end); D: four 5x5 stride-2 convolutions (leaky ReLU 0.2, BN from the second)
and one logit (jaxrestore/models/dcgan.py). z ~ U(-1, 1); the standard GAN loss
(002_* eq. 2) with G on -log D(G(z)); Adam 2e-4, beta1 0.5; batch 64; 64x64 images with
random horizontal flips (``data.augment``). 002_* trains 25 epochs on CelebA (202,599
images: 79,150 steps of 64). Data: the first 18,000 (by file name) of the 19,000 64x64
CelebA crops in ``../shared/data/CelebA64`` by default, so that ``[18000:]`` stays held out
for the restoration experiments (CelebA itself is not downloadable offline). Those
files are tight face crops resized to 64x64, not the DCGAN recipe's 108-pixel centre crop of
the aligned images (see their README): faces fill more of the frame than in 002_*.
There is no held-out PSNR for a prior: evaluation writes a grid of samples from fixed
latents (``samples/grid_<step>.png``), and no ``best/`` checkpoint is kept.

``:celeba``: the DCGAN recipe's data, CelebA's aligned images through tensorflow-datasets
(``tfds:celeb_a:train``, 162,770 images), centre-cropped to 108x108 and resized to 64x64
(``data.center_crop``, ``data.resize``); 25 epochs are 63,583 steps of 64.

``:quick``: a quarter of the widths (G 16, D 16) on the built-in procedural faces
(``procedural:faces``), batch 32, 2,000 steps: a quarter rather than half of the widths because
the step is several times faster, so the 2,000 steps fit a CPU session (``python -m
jaxrestore.benchmark --config=configs/dcgan.py:quick`` times it). Measured figures:
docs/papers/002-gan-prior.md.
"""

import pathlib
import sys

import ml_collections

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.get_config()
    c.method = "unconditional_gan"
    c.task = ml_collections.ConfigDict({"name": "generate"})
    c.model = ml_collections.ConfigDict({"generator": "dcgan", "discriminator": "dcgan", "z_dim": 100,
                                         "features": 64, "d_features": 64})
    c.loss.adversarial_weight = 1.0  # the GAN loss is the whole objective
    c.optimizer.g_lr = c.optimizer.d_lr = 2e-4
    c.optimizer.b1 = 0.5
    c.train.batch_size = 64
    c.train.num_steps = 79_150  # 25 epochs of CelebA's 202,599 images
    c.train.log_every = 100
    c.train.checkpoint_every = 2_000
    c.train.eval_every = 2_000
    c.train.grid_images = 8  # an 8x8 grid of samples
    c.data.train = "folder:../shared/data/CelebA64[:18000]"  # [18000:] is held out
    c.data.patch_size = 64
    c.data.augment = True  # horizontal flips
    c.data.skip_small_images = False
    c.data.epoch_images = 202_599
    return common.apply_preset(c, arg, {"quick": quick, "celeba": celeba})


def celeba(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    c.data.train = "tfds:celeb_a:train"
    c.data.center_crop = 108
    c.data.resize = 64
    c.data.epoch_images = 162_770
    c.train.num_steps = 63_583  # 25 epochs
    return c


def quick(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    c.model.features = 16
    c.model.d_features = 16
    c.train.batch_size = 32
    c.train.num_steps = 2_000
    c.train.log_every = 50
    c.train.checkpoint_every = 500
    c.train.eval_every = 500
    c.data.train = "procedural:faces:count=50000:size=64:seed=0"
    c.data.epoch_images = 50_000
    c.data.num_threads = 2
    c.data.prefetch_buffer = 2
    return c
