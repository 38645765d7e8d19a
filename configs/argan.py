"""ARGAN (000_* Tables 1-2; Galteri et al., ICCV 2017): JPEG artifact removal by eq. (6).

Launch:  python -m jaxrestore.main --config=configs/argan.py --workdir=runs/argan_q10
         python -m jaxrestore.main --config=configs/argan.py:vgg --workdir=runs/argan_vgg_q10 \
             --config.init_from=runs/argan_q10 --config.loss.vgg_weights=vgg19.npz
Real:    python -m jaxrestore.main --config=configs/argan.py:real --workdir=runs/argan_real
         (quality 10, T91 + BSDS200 from ../shared/data, evaluated on Set5)
Quality: --config.task.quality=20 (one network per quality factor, 000_* 4.1.1).
Figure 4: add --config.eval.fid_every_steps=7393 --config.eval.fid_weights=inception_fid.npz
          (one COCO epoch at batch 16), then `python -m jaxrestore.plot fid`.
Offline: python -m jaxrestore.main --config=configs/argan.py:quick --workdir=runs/argan_quick

Default: ARGAN-base, lambda = 0 and MSE fidelity, which trains G alone (000_*
Table 1-2 "ARGANbase": BSDS500 Q10 29.43 / 0.8309, Q20 31.73 / 0.8953).
Preset ``vgg``: ARGAN-VGG, the VGG fidelity loss (VGG19 phi_5,4 / 12.75, as for
SRGAN) plus lambda * l_adv (Q10 27.06 / 0.7440, Q20 29.23 / 0.8420), started
from ARGAN-base as Galteri et al. pre-train the generator on the fidelity loss
before GAN training (000_* 4.1.2 says so too). lambda = 1e-3: 000_* does not
state it for Table 1 (its Figure 1 shows 1e-3 and 1e-1); 1e-3 is SRGAN's value.
As 000_* (and unlike Galteri et al.) ARGAN-VGG has no JPEG-specific loss term.

Settings from 000_* 4.1.1 (``common.jpeg_task``): COCO 2017 train, 48x48
patches with a 24x24 noise patch, batch 16, Adam lr 1e-4 with momentum 0.5,
k = 1 D step. Where 000_* and Galteri et al. differ we follow 000_* (Adam at
1e-4/0.5). The channel: 000_* does not say which one it restores or scores.
Restoring and scoring the MATLAB Y channel (a greyscale JPEG of the rounded Y) is
this project's definition of the task, chosen because Table 1's plain-JPEG row is
a single-channel figure like those of the artifact-removal papers it compares with,
which work on luma; it is not a statement of 000_*. Encoder: Pillow's libjpeg, not
MATLAB's (``jaxrestore.imaging.jpeg`` states the difference). The iteration count is not
stated in either paper; 100k iterations (about 13.5 COCO epochs) is our choice.

The ``quick`` preset trains a small ARGAN-base on built-in dead-leaves images
(input_skip on, 900 steps at lr 2e-3) and evaluates on 8 held-out ones at Q10.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def vgg(c):
    """ARGAN-VGG: VGG fidelity + lambda * l_adv, from a pre-trained ARGAN-base generator."""
    c.loss.fidelity = "vgg"
    c.loss.adversarial_weight = 1e-3
    return c


def get_config(arg: str | None = None):
    c = common.jpeg_task(common.get_config(), quality=10)
    c.method = "joint"
    c.loss.fidelity = "mse"
    c.loss.adversarial_weight = 0.0
    c.train.num_steps = 100_000
    return common.apply_preset(c, arg, {"quick": common.quick, "vgg": vgg, "real": common.real_argan})
