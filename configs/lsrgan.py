"""LSRGAN (001_* Table 1, LSR columns): ESRGAN plus the companion encoder L, eqs. (9)-(10).

Launch:  python -m jaxrestore.main --config=configs/lsrgan.py --workdir=runs/lsrgan \
             --config.init_from=runs/esrgan_official --config.init_encoder_from=runs/rrdbnet_psnr \
             --config.loss.vgg_weights=vgg19.npz
Offline: python -m jaxrestore.main --config=configs/lsrgan.py:quick --workdir=runs/lsrgan_quick

As in 001_*, G starts from the public ESRGAN model (``init_from`` a directory
written by `python -m jaxrestore.convert esrgan`) and L from the stage-1
pre-training (``init_encoder_from`` a configs/rrdbnet_psnr.py run, whose
checkpoints hold L; ``init_from`` such a run sets both G and L). Then D, G and L are
updated alternately with l_G of eq. (10) — lambda 5e-3, eta 1e-2, mu 1e-3, the LSR
term subtracted as written — and L on eq. (9). Settings: common.esrgan_setting.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=True, perceptual="vgg")
    return common.apply_preset(c, arg, {"quick": common.quick_esrgan})
