"""ESRGAN (001_* Table 1, ESR columns; Wang et al. 2018): RRDBNet with the relativistic GAN, eq. (1).

Launch:  python -m jaxrestore.main --config=configs/esrgan.py --workdir=runs/esrgan \
             --config.init_from=runs/rrdbnet_psnr --config.loss.vgg_weights=vgg19.npz
Offline: python -m jaxrestore.main --config=configs/esrgan.py:quick --workdir=runs/esrgan_quick

l_G = L_percep + lambda * L_G^Ra + eta * L_1 (eq. 1) with VGG19 conv5_4 (before
ReLU) features; stage 2 of 001_* 4.1 from the stage-1 RRDBNet of
configs/rrdbnet_psnr.py (``init_from``), as CESRGAN, LSRGAN and CLSRGAN start. 001_*'s
ESR columns are the public ESRGAN model (trained by Wang et al. on more data than
DIV2K), not a run of this config: convert it with `python -m jaxrestore.convert
esrgan` and evaluate that directory for the ESR baseline (docs/papers/001-lsrgan.md).
Settings: common.esrgan_setting; the quick preset: common.quick_esrgan (no perceptual term
offline).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=False, perceptual="vgg")
    return common.apply_preset(c, arg, {"quick": common.quick_esrgan})
