"""cARGAN (000_* Table 2, cARGAN column): the constrained update of eqs. (7)-(11) on ARGAN.

Launch:  python -m jaxrestore.main --config=configs/cargan.py --workdir=runs/cargan_q10 \
             --config.init_from=runs/argan_q10 [--config.loss.fidelity=vgg --config.loss.vgg_weights=vgg19.npz]
Quality: --config.task.quality=20 (one network per quality factor, 000_* 4.1.1).
Figure 4: add --config.eval.fid_every_steps=7393 --config.eval.fid_weights=inception_fid.npz
          (with VGG fidelity, against configs/argan.py:vgg), then `python -m jaxrestore.plot fid`.
Offline: python -m jaxrestore.main --config=configs/cargan.py:quick --workdir=runs/cargan_quick
Real:    python -m jaxrestore.main --config=configs/cargan.py:real --workdir=runs/cargan_real
         (after argan.py:real, whose runs/argan_real it starts from)

Reproduces cARGAN of 000_* Table 2 on BSDS500: fidelity MSE (default; Q10 29.10 /
0.8143, Q20 31.15 / 0.8753) or VGG (``--config.loss.fidelity=vgg``; Q10 27.36 /
0.7786, Q20 29.50 / 0.8548). Per iteration: one D step, a fidelity Adam step to
theta_1, a temporary adversarial Adam step to theta_2, kept only if it lowers the
fidelity loss on the same minibatch (``train/accept_rate`` is logged). Starts
from ARGAN-base (``init_from``), the generator pre-training of Galteri et al.
Data, optimiser and networks as configs/argan.py (000_* 4.1.1).

The ``quick`` preset trains a small cARGAN-MSE on built-in dead-leaves images:
600 fidelity pre-training steps at lr 2e-3, then 300 constrained steps at
000_*'s 1e-4.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.jpeg_task(common.get_config(), quality=10)
    c.method = "constrained"
    c.loss.fidelity = "mse"
    c.loss.adversarial_weight = 1.0  # unused by the constrained update: l2_G is l_adv alone (eq. 8)
    c.train.num_steps = 100_000
    return common.apply_preset(c, arg, {"quick": common.quick_gan, "real": common.real_cargan})
