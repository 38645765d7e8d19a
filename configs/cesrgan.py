"""CESRGAN (001_* Table 1, CESR columns): ESRGAN with the cosine contextual loss, eq. (12).

Launch:  python -m jaxrestore.main --config=configs/cesrgan.py --workdir=runs/cesrgan \
             --config.init_from=runs/rrdbnet_psnr --config.loss.vgg_weights=vgg19.npz
Offline: python -m jaxrestore.main --config=configs/cesrgan.py:quick --workdir=runs/cesrgan_quick

L_percep of eq. (1) replaced by CCX (eq. 11) on VGG19 conv3_4 features, bandwidth
``loss.contextual_bandwidth``. G starts from the stage-1 RRDBNet (configs/rrdbnet_psnr.py),
001_*'s recipe; starting from the public ESRGAN model instead
(``--config.init_from=runs/esrgan_official``) is an alternative, described in
configs/lsrgan.py. The quick preset keeps the contextual loss on random VGG weights
(set explicitly there; such features carry no ImageNet meaning).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=False, perceptual="contextual")
    return common.apply_preset(c, arg, {"quick": common.quick_esrgan})
