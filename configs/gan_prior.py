"""GAN-prior restoration by MAP search in a DCGAN's latent space (002_* Table 1, Figure 3).

Launch (one task per run; a prior from configs/dcgan.py first):

    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/inpaint

Tasks (``:task=NAME``): ``inpaint`` (a missing centre 32x32 patch), ``colorize`` (greyscale),
``sr`` (x4 downsampling), ``denoise`` (Gaussian noise, sigma 0.1 on [0, 1]) and
``quantize`` (5 levels per channel). Writes ``results.json``/``.csv``/``.md`` and
``figure.png`` in the workdir (jaxrestore/inverse/experiments/gan_prior.py). ``data.test`` defaults
to 16 held-out procedural faces (offline); for CelebA64 use
``--config.data.test=folder:../shared/data/CelebA64[18000:]`` (configs/dcgan.py trains on
``[:18000]``).

Methods (``methods``, comma-separated; empty: 002_* Table 1's ``naive,tv,lr,sparse,ours``):
``naive`` (the corrupted input as an image: the zero-filled hole, the grey, the bicubic
upsampling, the noisy or quantized image), ``tv`` (total variation, Chambolle-Pock), ``lr``
(WNNM patch-group low rank), ``sparse`` (overcomplete DCT + OMP), ``dip`` (Deep Image
Prior; not in 002_*'s table, slow on a CPU) and ``ours`` (MAP search with the prior). The
baselines solve on the [0, 1] observation with the task's linear operator
(jaxrestore/inverse/baselines/); without ``ours`` no prior is needed.

Fields:

* ``method`` — ``gan_prior``: the experiment this file runs (set here; do not override).
* ``prior`` — the ``--workdir`` of a configs/dcgan.py run (its latest checkpoint: G and D
  with running BatchNorm statistics); needed for ``ours``.
* ``baselines`` — ``tv`` (``weight`` lambda, ``maxiter``, ``tol``), ``lr`` (``patch``,
  ``stride``, ``window``, ``group``, ``outer_iterations``, ``c``, ``sigma``, ``sigma_end``
  (> 0: a geometric schedule of the prior's noise level from ``sigma`` to it), ``refit``,
  ``relaxation``, ``thresholding``), ``sparse`` (``patch``, ``atoms``, ``sparsity``,
  ``tolerance``, ``outer_iterations``, ``stride``), ``dip`` (``iterations``, ``lr``,
  ``reg_noise_std``, ``channels``, ``scales``; 0 / -1: the default; ``batching``: ``auto``, one
  image after the other on a CPU and vmapped elsewhere, or ``loop`` / ``vmap``). The per-task defaults were chosen
  on CelebA64[18800:18850] (jaxrestore/inverse/experiments/baselines.py, ``TUNED``).
* ``task`` — ``name``; ``hole`` (inpaint: the centre hole's side), ``weighted_mask``
  (inpaint: Yeh et al.'s 15x15 weighted mask in the data term, as the released code;
  False: the binary mask), ``operator`` (colorize: ``grey`` as released or ``value``,
  the HSV V of 002_*'s text; sr: ``bicubic``, MATLAB's imresize, or ``bilinear``, the
  released down-and-up), ``scale`` (sr), ``sigma`` (denoise), ``step`` (quantize: 55).
* ``solver`` — MAP options (jaxrestore/inverse/solvers/map.py): ``lr``, ``momentum`` (Nesterov),
  ``prior_weight`` (lambda, on the summed L1 of [-1, 1] images), ``iterations``, ``prior``
  (``released`` -log D(G(z)) | ``paper`` eq. 3 | ``none``), ``init`` (``normal`` as
  released | ``uniform``), ``restarts``, ``keep_best_iterate``, ``chunk`` (images per
  compiled solve; lower it if memory is short), ``z_dim`` (0: the prior's).
  The per-task defaults are the released code's (branch ``extensions`` of
  moodoki/semantic_image_inpainting): inpaint lr 3e-4, lambda 0.2, 3000 iterations;
  colorize 1e-2, 0.1, 1000; sr 1e-4, 0.01, 1000; denoise 1e-4, 0.03, 1000;
  quantize 1e-4, 0.001, 1000. ``defaults_of`` records which task they are for.
* ``blend`` — also score the post-processed results (inpaint: ``ours_overlay``, G(z) in
  the hole, and ``ours_blend``, Poisson blending; colorize: ``ours_blend``, the value blend).
* ``data.test`` / ``data.max_images`` — test images (a source spec) and how many (0: all);
  ``data.center_crop`` / ``data.resize`` as in training (CelebA's test split through
  tensorflow-datasets: ``tfds:celeb_a:test`` with 108 and 64, as configs/dcgan.py:celeba).
* ``figure_images`` — rows of ``figure.png`` (0: no figure); ``seed`` — corruption noise and z's start.
* ``recompute`` — the workdir is a run (jaxrestore/inverse/experiments/runs.py): rerunning the same
  config continues an interrupted run from its finished chunks, and shows a finished one's results
  without recomputing them; ``True`` computes them again. A workdir holding anything else (a
  training run, a prior, another config) is refused. Ctrl-C or SIGTERM stops the run within a
  segment of 25 solver iterations, saving what is finished; the same command continues it
  (docs/runs.md, "Experiments are runs too").
"""

import ml_collections

# name: (lr, lambda, iterations) of the released code.
RELEASED = {
    "inpaint": (3e-4, 0.2, 3000),
    "colorize": (1e-2, 0.1, 1000),
    "sr": (1e-4, 0.01, 1000),
    "denoise": (1e-4, 0.03, 1000),
    "quantize": (1e-4, 0.001, 1000),
}


def get_config(arg: str | None = None):
    options = dict(item.split("=", 1) if "=" in item else (item, "") for item in (arg or "").split(",") if item)
    unknown = set(options) - {"task"}
    name = options.get("task", "")
    if unknown or name not in RELEASED:
        from jaxrestore.errors import ConfigError

        raise ConfigError(f"choose the task as configs/gan_prior.py:task=NAME with NAME one of "
                          f"{', '.join(RELEASED)} (got {arg!r}).")
    lr, weight, iterations = RELEASED[name]
    c = ml_collections.ConfigDict()
    c.method = "gan_prior"
    c.seed = 0
    c.prior = ""
    c.task = ml_collections.ConfigDict({"name": name, "hole": 32, "weighted_mask": True,
                                        "operator": {"colorize": "grey", "sr": "bicubic"}.get(name, ""),
                                        "scale": 4, "sigma": 0.1, "step": 55})
    c.solver = ml_collections.ConfigDict({
        "lr": lr, "momentum": 0.9, "prior_weight": weight, "iterations": iterations,
        "prior": "released", "init": "normal", "restarts": 1, "keep_best_iterate": False,
        "chunk": 32, "z_dim": 0, "defaults_of": name,
    })
    from jaxrestore.inverse.experiments import baselines as methods

    c.methods = ""
    c.baselines = methods.config_section(name)
    c.blend = True
    c.data = ml_collections.ConfigDict({"test": "procedural:faces:count=16:size=64:seed=1000000",
                                        "max_images": 0, "tfds_data_dir": "", "center_crop": 0, "resize": 0})
    c.figure_images = 8
    c.recompute = False
    return c
