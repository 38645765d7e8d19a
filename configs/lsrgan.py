"""LSRGAN (001_* Table 1, LSR columns): ESRGAN plus the companion encoder L, eqs. (9)-(10).

Launch:  python -m jaxrestore.main --config=configs/rrdbnet_psnr.py --workdir=runs/rrdbnet_psnr   # stage 1
         python -m jaxrestore.main --config=configs/lsrgan.py --workdir=runs/lsrgan \
             --config.init_from=runs/rrdbnet_psnr --config.loss.vgg_weights=vgg19.npz   # stage 2
Offline: python -m jaxrestore.main --config=configs/lsrgan.py:quick --workdir=runs/lsrgan_quick
Real:    python -m jaxrestore.main --config=configs/lsrgan.py:real --workdir=runs/lsrgan_real
         (after rrdbnet_psnr.py:real, whose runs/rrdbnet_psnr_real sets G and L)

001_*'s recipe (4.1): stage 1 pre-trains G (LR -> HR) and L (HR -> LR) as
PSNR-oriented models on L1 (configs/rrdbnet_psnr.py, whose checkpoints hold both),
and stage 2 starts G *and* L from that run (``init_from`` a stage-1 run sets both),
on DIV2K only (4.2). Then D, G and L are updated alternately with l_G of eq. (10) —
lambda 5e-3, eta 1e-2, mu 1e-3, the LSR term subtracted as written — and L on
eq. (9). Settings: common.esrgan_setting. The quick preset runs both stages in one
run (``train.pretrain_steps``).

Alternative, not 001_*'s recipe: G from the public ESRGAN model, which is 001_*'s
ESR *baseline* (trained by Wang et al. on more data than DIV2K, which 001_* 4.2
gives as the reason the ESR column's L1 differs), and L from stage 1:
``--config.init_from=runs/esrgan_official --config.init_encoder_from=runs/rrdbnet_psnr``
(``runs/esrgan_official`` written by `python -m jaxrestore.convert esrgan`).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.esrgan_setting(common.get_config(), encoder=True, perceptual="vgg")
    return common.apply_preset(c, arg, {"quick": common.quick_esrgan, "real": common.real_lsrgan})
