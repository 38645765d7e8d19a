"""cSRGAN (000_* Table 3, cSRGAN column): the constrained update of eqs. (7)-(11) on SRGAN.

Launch:  python -m jaxrestore.main --config=configs/csrgan.py --workdir=runs/csrgan \
             --config.init_from=runs/srresnet [--config.loss.fidelity=vgg --config.loss.vgg_weights=vgg19.npz]
Offline: python -m jaxrestore.main --config=configs/csrgan.py:quick --workdir=runs/csrgan_quick
Real:    python -m jaxrestore.main --config=configs/csrgan.py:real --workdir=runs/csrgan_real
         (after srresnet.py:real, whose runs/srresnet_real it starts from)

Reproduces cSRGAN of 000_* Table 3: fidelity MSE (default; Set5 31.07 / 0.8619,
Set14 27.54 / 0.7379, BSD100 27.06 / 0.7086) or VGG (``--config.loss.fidelity=vgg``;
Set5 29.81 / 0.8395, Set14 26.30 / 0.6952, BSD100 25.69 / 0.6546). Optimiser as
000_* section 3: Adam, learning rate 1e-4, momentum (beta1) 0.5, for G and D;
k = 1 D step per iteration (Algorithm 1). Starts from SRResNet (``init_from``).
The paper does not state the iteration count; 2e5 as for SRGAN.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.get_config()
    c.method = "constrained"
    c.loss.fidelity = "mse"
    c.loss.adversarial_weight = 1.0  # unused by the constrained update: l2_G is l_adv alone (eq. 8)
    c.optimizer.b1 = 0.5
    c.optimizer.g_lr = 1e-4
    c.optimizer.d_lr = 1e-4
    c.train.num_steps = 200_000
    return common.apply_preset(c, arg, {"quick": common.quick_gan, "real": common.real_csrgan})
