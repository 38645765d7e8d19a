"""CLSRGAN (001_* Table 1, CLSR columns): the contextual loss and the encoder L, eq. (13).

Launch:  python -m jaxrestore.main --config=configs/clsrgan.py --workdir=runs/clsrgan \
             --config.init_from=runs/rrdbnet_psnr --config.loss.vgg_weights=vgg19.npz
Offline: python -m jaxrestore.main --config=configs/clsrgan.py:quick --workdir=runs/clsrgan_quick

l_G = CCX + lambda * L_G^Ra + eta * L_1 - mu * |L(y) - L(G(z))|_1 (eq. 13), L on eq. (9).
G and L start from the stage-1 run (configs/rrdbnet_psnr.py), 001_*'s recipe; see
configs/lsrgan.py for that and for the alternative start from the public ESRGAN
model, configs/cesrgan.py for CCX.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=True, perceptual="contextual")
    return common.apply_preset(c, arg, {"quick": common.quick_esrgan})
