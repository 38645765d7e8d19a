"""SRResNet-MSE (SRGAN-base of 000_* Table 3): the x4 generator trained on MSE alone (lambda = 0).

Launch:  python -m jaxrestore.main --config=configs/srresnet.py --workdir=runs/srresnet
Offline: python -m jaxrestore.main --config=configs/srresnet.py:quick --workdir=runs/srresnet_quick
Real:    python -m jaxrestore.main --config=configs/srresnet.py:real --workdir=runs/srresnet_real
         (T91 + BSDS200 from ../shared/data, evaluated on Set5; sized for under an hour on a 2-core CPU)

Reproduces the SRGAN-base column of 000_* Table 3 (Set5 32.27 / 0.8994, Set14
28.57 / 0.7814, BSD100 27.66 / 0.7388). Data and optimiser as in 000_* 4.2.1 and
Ledig et al.: 96x96 HR patches, batch 16, bicubic x4 LR, images sampled
equally from COCO 2017 train and ImageNet train (tensorflow-datasets), Adam
(beta1 0.9) at 1e-4 for 10^6 iterations. Its workdir is the ``init_from`` of
configs/srgan.py and configs/csrgan.py.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.get_config()
    c.method = "joint"
    c.loss.fidelity = "mse"
    c.loss.adversarial_weight = 0.0
    c.train.num_steps = 1_000_000
    return common.apply_preset(c, arg, {"quick": common.quick, "real": common.real_srresnet})
