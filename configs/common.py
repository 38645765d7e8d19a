"""Shared defaults of every experiment; an experiment file overrides only what differs.

Fields (all can be overridden on the command line, e.g. ``--config.train.num_steps=10``):

* ``method`` — ``joint`` (000_* eq. 6), ``constrained`` (eqs. 7-11), ``esrgan`` (001_*)
  or ``unconditional_gan`` (a GAN prior, configs/dcgan.py) or ``began`` (a BEGAN prior,
  configs/began.py).
* ``seed`` — PRNG seed of initialisation and of per-step randomness.
* ``init_from`` — a run directory (workdir) whose generator starts this run
  (SRGAN and cSRGAN start from SRResNet); ignored when the workdir already has
  a checkpoint to resume from.
* ``task`` — ``name`` (``sr``: ``scale``; ``jpeg``: ``quality``, the JPEG quality
  factor 1-100, see configs/argan.py; ``generate``: a GAN prior's images, no options),
  one object per task in ``jaxrestore/training/tasks.py``.
* ``model`` — generator (``srresnet``: ``num_blocks``, ``features``, ``bicubic_skip``:
  add the bicubic upsampled input to the output, off in the papers' configs;
  ``argan``: ``num_blocks``, ``features``, ``channels``, ``input_skip``: add the
  JPEG input to the output, off in the papers' configs) and discriminator
  (``srgan`` or ``argan``: ``d_features`` is the first layer's width, 64 in the papers).
  ``remat``: gradient checkpointing of the generator's residual (SRResNet, ARGAN) or RRDB
  blocks — their activations are recomputed in the backward pass instead of kept, which
  trades one more forward pass of those blocks for memory on GPU/TPU (XLA:CPU removes the
  recomputation again; ``benchmark --memory`` prints XLA's memory without and with it;
  measured figures: docs/speed.md).
* ``loss`` — ``fidelity`` (``mse`` | ``vgg``), ``adversarial_weight`` (lambda of
  eq. 6), VGG options (``vgg_weights``: a torchvision vgg19 file, see docs/data-and-weights.md;
  ``vgg_random_init`` must be set explicitly to run the VGG loss on random weights).
* ``optimizer`` — Adam (``b1``, ``b2``, ``eps``) for G and D with learning rates
  ``g_lr``/``d_lr``, multiplied by ``lr_decay`` at each step in ``lr_boundaries``.
  ``adversarial_moments`` (constrained method only): ``keep`` (default) lets the
  adversarial Adam moments advance on every step, accepted or not; ``revert``
  restores them with the parameters when a candidate is rejected
  (``jaxrestore/training/methods/constrained.py``).
* ``train`` — ``num_steps``, ``batch_size``, ``pretrain_steps`` (fidelity-only G
  steps before the method's own step), logging/checkpoint/eval periods,
  ``keep_checkpoints``, ``grid_images`` (validation images in the PNG grid),
  ``compute_dtype`` (``float32``, or ``bfloat16`` on TPU/GPU: the networks of the step
  run in bfloat16, parameters, optimizer states, losses and metrics stay float32; see
  ``jaxrestore/runtime/precision.py``).
* ``data`` — training sources and patches, see ``jaxrestore/data/pipeline.py``.
* ``data.center_crop`` / ``data.resize`` — cut each image's central square of that side,
  then resize it (0: off); the DCGAN recipe for CelebA is 108 and 64 (configs/dcgan.py:celeba).
  ``data.crop_box`` — (top, left, height, width) instead of the centre square (BEGAN's CelebA
  crop, (50, 25, 128, 128), configs/began.py:celeba).
* ``data.epoch_images`` — images in one pass over the training set (0: unknown);
  only used to label FID records with an epoch.
* ``eval`` — ``data``: held-out images for periodic evaluation (a source spec:
  ``folder:/path`` or ``procedural:...``; empty disables it), ``max_images``.
  FID every ``fid_every_steps`` steps (0: off) between the clean and the restored
  ``fid_data`` images (first ``fid_max_images``; 0: all), with the Inception
  weights ``fid_weights`` (``python -m jaxrestore.convert inception``, see
  docs/papers/000-constrained.md); ``fid_random_init`` must be set explicitly to run it on
  random weights (tests only: such FIDs mean nothing). Records go to ``<workdir>/fid.jsonl``.
"""

from __future__ import annotations

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.method = "joint"
    c.seed = 0
    c.init_from = ""

    c.task = ml_collections.ConfigDict({"name": "sr", "scale": 4})

    c.model = ml_collections.ConfigDict({
        "generator": "srresnet",
        "num_blocks": 16,
        "features": 64,
        "bicubic_skip": False,
        "discriminator": "srgan",
        "d_features": 64,
        "remat": False,
    })

    c.loss = ml_collections.ConfigDict({
        "fidelity": "mse",
        "adversarial_weight": 0.0,
        "vgg_weights": "",
        "vgg_random_init": False,
        "vgg_layer": "relu5_4",
        "vgg_feature_scale": 1.0 / 12.75,
    })

    c.optimizer = ml_collections.ConfigDict({
        "g_lr": 1e-4,
        "d_lr": 1e-4,
        "b1": 0.9,
        "b2": 0.999,
        "eps": 1e-8,
        "lr_boundaries": (),
        "lr_decay": 0.1,
        "adversarial_moments": "keep",
    })

    c.train = ml_collections.ConfigDict({
        "num_steps": 1_000_000,
        "batch_size": 16,
        "pretrain_steps": 0,
        "log_every": 100,
        "checkpoint_every": 5_000,
        "keep_checkpoints": 3,
        "eval_every": 10_000,
        "grid_images": 4,
        "compute_dtype": "float32",
    })

    c.data = ml_collections.ConfigDict({
        "train": "tfds:coco/2017:train,tfds:imagenet2012:train",
        "train_weights": "",
        "tfds_data_dir": "",
        "patch_size": 96,
        "augment": False,  # 000_* and Ledig et al. state no flips/rotations
        "skip_small_images": True,  # ImageNet holds images smaller than 96 px
        "num_threads": 8,
        "prefetch_buffer": 4,
        "seed": 0,
        "epoch_images": 0,
        "center_crop": 0,
        "crop_box": (),
        "resize": 0,
    })

    c.eval = ml_collections.ConfigDict({
        "data": "",
        "max_images": 0,
        "fid_every_steps": 0,
        "fid_data": "",
        "fid_max_images": 0,
        "fid_weights": "",
        "fid_random_init": False,
    })
    return c


def quick(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The offline preset: a small model on built-in procedural images, minutes on 2 CPU cores."""
    c.model.num_blocks = 4
    c.model.features = 32
    if c.model.generator == "srresnet":
        c.model.bicubic_skip = True
    else:
        c.model.input_skip = True
    c.model.d_features = 16
    c.optimizer.g_lr = 2e-3
    c.optimizer.d_lr = 2e-3
    c.train.batch_size = 16
    c.train.num_steps = 900
    c.train.log_every = 50
    c.train.checkpoint_every = 300
    c.train.eval_every = 300
    c.data.train = "procedural:deadleaves:count=100000:size=128:seed=0"
    c.data.epoch_images = 100_000
    c.data.patch_size = 48
    c.data.num_threads = 2
    c.data.prefetch_buffer = 2
    c.eval.data = "procedural:deadleaves:count=8:size=192:seed=1000000"
    return c


def quick_gan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The offline preset of the GAN methods: MSE fidelity, 600 pre-training steps at lr 2e-3,
    then 300 GAN steps at the papers' lr 1e-4.

    MSE, because a VGG loss on random weights would be meaningless and pretrained
    weights cannot be downloaded offline. The GAN phase keeps 000_*'s 1e-4: at 2e-3
    every adversarial candidate of the constrained update raised the fidelity loss
    (acceptance rate 0), at 1e-4 a few percent are accepted.
    """
    c = quick(c)
    c.loss.fidelity = "mse"
    c.train.pretrain_steps = 600
    c.optimizer.lr_boundaries = (600,)
    c.optimizer.lr_decay = 0.05
    return c


def apply_preset(c: ml_collections.ConfigDict, arg: str | None, presets: dict):
    """Applies the preset named by the ``--config=FILE:ARG`` argument, with a clear error."""
    if not arg:
        return c
    for name in arg.split(","):  # several presets apply in order: --config=configs/argan.py:vgg,quick
        if name not in presets:
            from jaxrestore.errors import ConfigError

            raise ConfigError(f"unknown preset {name!r}; use one of {sorted(presets)} (e.g. "
                              f"--config=configs/srgan.py:quick) or none.")
        c = presets[name](c)
    return c


def jpeg_task(c: ml_collections.ConfigDict, quality: int = 10) -> ml_collections.ConfigDict:
    """The artifact-removal setting of 000_* 4.1.1 shared by configs/argan.py and cargan.py.

    Task: luma JPEG at ``quality`` (one network per quality factor). ARGAN networks
    on one channel. Data: COCO 2017 train through tensorflow-datasets, 48x48
    patches, batch 16, no flips/rotations (none stated); Adam lr 1e-4, beta1 0.5
    for G and D (000_* section 3); BSDS500 is the validation set, which
    tensorflow-datasets does not carry: pass ``--config.eval.data=folder:/path/BSDS500/test``.
    FID (Figure 4) on COCO 2017 validation once per epoch when asked for.
    """
    c.task = ml_collections.ConfigDict({"name": "jpeg", "quality": quality, "scale": 1})
    c.model = ml_collections.ConfigDict({
        "generator": "argan",
        "num_blocks": 15,
        "features": 64,
        "channels": 1,
        "input_skip": False,
        "discriminator": "argan",
        "d_features": 64,
        "remat": False,
    })
    c.optimizer.b1 = 0.5
    c.optimizer.g_lr = 1e-4
    c.optimizer.d_lr = 1e-4
    c.data.train = "tfds:coco/2017:train"
    c.data.patch_size = 48
    c.data.skip_small_images = True
    c.data.epoch_images = 118_287  # COCO 2017 train
    c.eval.fid_data = "tfds:coco/2017:validation"
    c.eval.fid_max_images = 0
    return c


def esrgan_setting(c: ml_collections.ConfigDict, *, encoder: bool, perceptual: str) -> ml_collections.ConfigDict:
    """The ESRGAN-family setting of 001_* 4.1 shared by esrgan, lsrgan, cesrgan, clsrgan
    and the stage-1 config rrdbnet_psnr (``jaxrestore/training/methods/esrgan.py``).

    x4, DIV2K through tensorflow-datasets with flips and 90-degree rotations, 128x128
    HR patches, batch 16, MATLAB-bicubic LR. Models: RRDBNet (23 RRDB blocks, 64
    features, growth 32, residual scaling 0.2, no BN), ESRGAN's VGG-style
    discriminator for 128x128 inputs, and (``encoder``) the companion encoder L.
    Stage 2 (this function): D, G and L fine-tuned jointly with lambda = 5e-3
    (``adversarial_weight``), eta = 1e-2 (``l1_weight``), mu = 1e-3 (``lsr_weight``);
    Adam (0.9, 0.999, 1e-8) at 1e-4 halved at 50k, 100k, 200k and 300k iterations, up
    to 500k. ``perceptual``: ``vgg`` (conv5_4 before ReLU, L1, weight 1 as in ESRGAN)
    or ``contextual`` (eq. 11 on conv3_4, bandwidth ``contextual_bandwidth``).
    ``train.ema_decay`` keeps a moving average of G's weights beside the raw ones (not
    part of 001_*; evaluation uses the raw weights unless ``--ema`` is given).
    """
    c.method = "esrgan"
    c.task = ml_collections.ConfigDict({"name": "sr", "scale": 4})
    c.model = ml_collections.ConfigDict({
        "generator": "rrdbnet",
        "num_blocks": 23,
        "features": 64,
        "growth": 32,
        "discriminator": "vgg128",
        "d_features": 64,
        "encoder": "lsr" if encoder else "",
        "encoder_blocks": 3,
        "encoder_features": 64,
        "encoder_vgg_width": 1.0,
        "remat": False,
    })
    c.init_encoder_from = ""
    c.loss.perceptual = perceptual
    c.loss.vgg_layer = "conv5_4"
    c.loss.vgg_feature_scale = 1.0
    c.loss.contextual_layer = "conv3_4"
    c.loss.contextual_bandwidth = 0.5
    c.loss.adversarial_weight = 5e-3
    c.loss.l1_weight = 1e-2
    c.loss.lsr_weight = 1e-3
    c.optimizer.g_lr = 1e-4
    c.optimizer.d_lr = 1e-4
    c.optimizer.l_lr = 1e-4
    c.optimizer.b1, c.optimizer.b2, c.optimizer.eps = 0.9, 0.999, 1e-8
    c.optimizer.lr_boundaries = (50_000, 100_000, 200_000, 300_000)
    c.optimizer.lr_decay = 0.5
    c.train.num_steps = 500_000
    c.train.batch_size = 16
    c.train.ema_decay = 0.999
    c.data.train = "tfds:div2k/bicubic_x4:train"
    c.data.patch_size = 128
    c.data.augment = True
    c.data.skip_small_images = False
    c.data.epoch_images = 800
    return c


def quick_esrgan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The offline preset of the ESRGAN family: a small RRDBNet, G and L pre-trained on L1
    for 600 steps, then 300 joint D/G/L steps at 001_*'s lr 1e-4.

    No pretrained VGG19 exists offline: ESRGAN/LSRGAN drop the perceptual term here
    (``loss.perceptual=none``), while CESRGAN/CLSRGAN keep the contextual loss, whose
    whole point it is, on randomly initialised VGG features (``loss.vgg_random_init``,
    set here explicitly). 64x64 HR patches (the discriminator takes any multiple of
    32), batch 8, and L's VGG16 part at 1/8 of VGG16's widths. L1 is weighted 1
    (eta = 1e-2 in 001_*, where the pretrained perceptual term holds the content):
    with eta = 1e-2 and no perceptual term, esrgan:quick's adversarial term took over in
    the GAN phase and PSNR-Y collapsed (measured figures: docs/papers/001-lsrgan.md).
    """
    c.model.num_blocks = 2
    c.model.features = 32
    c.model.growth = 16
    c.model.d_features = 16
    c.model.encoder_features = 32
    c.model.encoder_vgg_width = 0.125
    if c.loss.perceptual == "vgg":
        c.loss.perceptual = "none"
    elif c.loss.perceptual == "contextual":
        c.loss.vgg_random_init = True
    c.loss.l1_weight = 1.0
    c.optimizer.g_lr = c.optimizer.d_lr = c.optimizer.l_lr = 2e-3
    c.optimizer.lr_boundaries = (600,)
    c.optimizer.lr_decay = 0.05
    c.train.num_steps = 900
    c.train.pretrain_steps = 600
    c.train.batch_size = 8
    c.train.ema_decay = 0.99
    c.train.log_every = 50
    c.train.checkpoint_every = 300
    c.train.eval_every = 300
    c.data.train = "procedural:deadleaves:count=100000:size=96:seed=0"
    c.data.epoch_images = 100_000
    c.data.patch_size = 64
    c.data.num_threads = 2
    c.data.prefetch_buffer = 2
    c.eval.data = "procedural:deadleaves:count=8:size=192:seed=1000000"
    return c


# -- the :real presets: real photographs on a CPU ------------------------------------------------
# ../shared/data is relative to the directory the command runs in (the repository root, as every
# command of the README is written); point data.train / eval.data at your own folders elsewhere.
SHARED_DATA = "../shared/data"
REAL_TRAIN = f"folder:{SHARED_DATA}/T91,folder:{SHARED_DATA}/BSDS200"


def real_images(c: ml_collections.ConfigDict, *, patch_size: int, batch_size: int) -> ml_collections.ConfigDict:
    """Training on the 91 T91 images and the 200 BSDS500 train images (each image drawn equally
    often: weights 91:200), random crops with flips and 90-degree rotations; periodic evaluation
    on Set5 with two of its images in the grid."""
    c.data.train = REAL_TRAIN
    c.data.train_weights = "91,200"
    c.data.augment = True
    c.data.patch_size = patch_size
    c.data.skip_small_images = True
    c.data.epoch_images = 291
    c.data.num_threads = 2
    c.data.prefetch_buffer = 2
    c.train.batch_size = batch_size
    c.eval.data = f"folder:{SHARED_DATA}/Set5"
    c.train.grid_images = 2
    return c


def _steps(c: ml_collections.ConfigDict, num_steps: int, evaluations: int) -> ml_collections.ConfigDict:
    c.train.num_steps = num_steps
    c.train.log_every = 100
    c.train.eval_every = c.train.checkpoint_every = num_steps // evaluations
    return c


def _real_srresnet_model(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The generator of srresnet.py:real and csrgan.py:real (one model, so that the second
    starts from the first)."""
    c.model.num_blocks = 8
    c.model.features = 64
    c.model.bicubic_skip = True
    return c


def real_srresnet(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``srresnet.py:real``: SRResNet x4 on T91 + BSDS200, sized for under an hour on a 2-core CPU.

    8 residual blocks of 64 features (half of SRResNet's 16) with ``bicubic_skip`` (the output
    is added to the bicubic upsampled input, as in the quick preset; not in 000_*), 64x64 HR
    patches (16x16 LR), batch 16, MSE, Adam (beta1 0.9) at 1e-3 for 4,320 steps, x0.1 at
    step 3,240; Set5 evaluated and checkpointed every 540 steps. The decay comes before the
    point where a first version, kept at 1e-3 longer, hit a loss spike that threw its Set5 PSNR
    far down. Model and patch size were chosen by the step's speed (``jaxrestore.benchmark`` on
    a 2-core CPU) against 48 features at 96x96 patches and 6 blocks of 48 features at 64x64.
    Measured figures: docs/real-images.md.
    """
    c = _real_srresnet_model(real_images(c, patch_size=64, batch_size=16))
    c.optimizer.g_lr = 1e-3
    c.optimizer.lr_boundaries = (3_240,)
    c.optimizer.lr_decay = 0.1
    return _steps(c, 4_320, 8)


def real_csrgan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``csrgan.py:real``: cSRGAN-MSE x4 on T91 + BSDS200, started from ``runs/srresnet_real``.

    The generator of srresnet.py:real (``init_from`` its best checkpoint), SRGAN's
    discriminator with 32 features in its first layer (64 in 000_*, a slower step on a CPU;
    ``jaxrestore.benchmark`` compares them), 000_*'s Adam at 1e-4 with beta1 0.5 for G and D,
    one D step per iteration, MSE fidelity (cSRGAN-MSE of 000_* Table 3; a VGG loss needs VGG19
    weights, which this offline preset cannot fetch); 1,080 steps, Set5 evaluated, a grid
    written and a checkpoint kept every 180. Measured figures: docs/real-images.md.
    """
    c = _real_srresnet_model(real_images(c, patch_size=64, batch_size=16))
    c.init_from = "runs/srresnet_real"
    c.model.d_features = 32
    return _steps(c, 1_080, 6)


def _real_argan_model(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The generator of argan.py:real and cargan.py:real: ARGAN's (stride-2 head, residual
    blocks at half resolution, sub-pixel tail) with 8 blocks of 48 features (15 of 64 in
    Galteri et al.) and ``input_skip`` (the output is added to the JPEG input, as in the quick
    preset; not in 000_*). Both presets train on 48x48 luma patches (000_* 4.1.1's size)."""
    c.model.num_blocks = 8
    c.model.features = 48
    c.model.input_skip = True
    return c


def real_argan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``argan.py:real``: ARGAN-base (MSE alone) for quality-10 luma JPEG on T91 + BSDS200.

    Adam (beta1 0.9) at 1e-3 for 6,000 steps, x0.1 at step 4,500, batch 16; Set5 (JPEG'd at
    the same quality) evaluated and checkpointed every 750 steps. The model's size was chosen by
    the step's speed (``jaxrestore.benchmark`` on a 2-core CPU) against 64 features, 64x64
    patches and 6 blocks. Measured figures: docs/real-images.md.
    """
    c = _real_argan_model(real_images(c, patch_size=48, batch_size=16))
    c.optimizer.b1 = 0.9
    c.optimizer.g_lr = 1e-3
    c.optimizer.lr_boundaries = (4_500,)
    c.optimizer.lr_decay = 0.1
    return _steps(c, 6_000, 8)


def real_cargan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``cargan.py:real``: cARGAN-MSE at quality 10 on T91 + BSDS200, started from
    ``runs/argan_real`` (its best checkpoint): ARGAN's patch discriminator with 32 features in
    its first layer (64 in 000_*), 000_*'s Adam at 1e-4 with beta1 0.5 for G and D, one D step
    per iteration; 1,800 steps, Set5 evaluated, a grid written and a checkpoint kept every 300
    (measured figures: docs/real-images.md)."""
    c = _real_argan_model(real_images(c, patch_size=48, batch_size=16))
    c.init_from = "runs/argan_real"
    c.model.d_features = 32
    return _steps(c, 1_800, 6)


def _real_rrdbnet_model(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The generator and encoder of rrdbnet_psnr.py:real and lsrgan.py:real (one model, so that
    the second starts from the first): RRDBNet with 3 blocks of 32 features, growth 16, and L
    with 32 features and its VGG16 part at 1/4 width. The size was chosen by the speed of stage 1
    and of LSRGAN's joint step (``jaxrestore.benchmark`` on a 2-core CPU) against 4 blocks of 48
    features, growth 24, whose joint step would leave too few GAN steps for the hour (measured
    figures: docs/real-images.md)."""
    c.model.num_blocks = 3
    c.model.features = 32
    c.model.growth = 16
    c.model.encoder_features = 32
    c.model.encoder_vgg_width = 0.25
    c.train.ema_decay = 0.0
    return c


def real_rrdbnet_psnr(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``rrdbnet_psnr.py:real``: stage 1 of the ESRGAN family (G and L on L1) on T91 + BSDS200:
    64x64 HR patches, batch 16, Adam at 5e-4 x0.1 at step 4,500, 6,000 steps, Set5 every 750
    (measured figures: docs/real-images.md)."""
    c = _real_rrdbnet_model(real_images(c, patch_size=64, batch_size=16))
    c.optimizer.g_lr = c.optimizer.l_lr = 5e-4
    c.optimizer.lr_boundaries = (4_500,)
    c.optimizer.lr_decay = 0.1
    return _steps(c, 6_000, 8)


def real_lsrgan(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``lsrgan.py:real``: LSRGAN's joint D/G/L stage on T91 + BSDS200 from ``runs/rrdbnet_psnr_real``
    (G and L): 001_*'s Adam at 1e-4, D with 32 first-layer features, no perceptual term (no VGG19
    weights offline), so L1 is weighted 1 (as in the quick preset) and the adversarial weight is
    1e-3, not 001_*'s 5e-3: with 5e-3 Set5 PSNR fell steadily and the grids grew a frame and a
    colour cast; with 1e-3 it fell far less and NIQE improved. 1,500 steps, Set5 every 250
    (measured figures: docs/real-images.md)."""
    c = _real_rrdbnet_model(real_images(c, patch_size=64, batch_size=16))
    c.init_from = "runs/rrdbnet_psnr_real"
    c.model.d_features = 32
    c.loss.perceptual = "none"
    c.loss.l1_weight = 1.0
    c.loss.adversarial_weight = 1e-3
    c.optimizer.lr_boundaries = ()
    return _steps(c, 1_500, 6)
