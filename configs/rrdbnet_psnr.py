"""Stage 1 of 001_* 4.1: the PSNR-oriented pre-training of G (RRDBNet, LR -> HR) and L (HR -> LR).

Launch:  python -m jaxrestore.main --config=configs/rrdbnet_psnr.py --workdir=runs/rrdbnet_psnr
Offline: python -m jaxrestore.main --config=configs/rrdbnet_psnr.py:quick --workdir=runs/rrdbnet_psnr_quick
Real:    python -m jaxrestore.main --config=configs/rrdbnet_psnr.py:real --workdir=runs/rrdbnet_psnr_real
         (T91 + BSDS200 from ../shared/data, evaluated on Set5)

Both on the L1 loss (L against the bicubic LR of the patch), Adam (0.9, 0.999, 1e-8)
at 2e-4 halved every 2e5 iterations, 500k iterations; DIV2K, 128x128 HR patches,
batch 16, flips and rotations. ``--config.model.encoder=''`` trains G alone (the
RRDB_PSNR model of ESRGAN). The workdir is the ``init_from`` of all four stage-2
configs (esrgan.py, cesrgan.py, lsrgan.py, clsrgan.py; for the last two it sets G and
L), 001_*'s recipe. The quick preset trains a small G and L for 900 steps.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def _quick(c):
    c = common.quick_esrgan(c)
    c.train.pretrain_steps = 0
    c.optimizer.lr_boundaries = (600,)
    c.optimizer.lr_decay = 0.5
    return c


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=True, perceptual="none")
    c.loss.adversarial_weight = 0.0
    c.optimizer.g_lr = c.optimizer.l_lr = 2e-4
    c.optimizer.lr_boundaries = (200_000, 400_000)
    c.optimizer.lr_decay = 0.5
    c.train.ema_decay = 0.0
    return common.apply_preset(c, arg, {"quick": _quick, "real": common.real_rrdbnet_psnr})
