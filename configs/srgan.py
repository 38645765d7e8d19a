"""SRGAN (000_* Table 3, SRGAN-VGG column; Ledig et al. 2017): eq. (6) with VGG fidelity, lambda = 1e-3.

Launch:  python -m jaxrestore.main --config=configs/srgan.py --workdir=runs/srgan \
             --config.init_from=runs/srresnet --config.loss.vgg_weights=vgg19.npz
Offline: python -m jaxrestore.main --config=configs/srgan.py:quick --workdir=runs/srgan_quick

Reproduces SRGAN-VGG of 000_* Table 3 (Set5 29.74 / 0.8387, Set14 26.21 / 0.6968,
BSD100 25.65 / 0.6531); ``--config.loss.fidelity=mse`` gives SRGAN-MSE. As in
Ledig et al.: start from the SRResNet-MSE generator (``init_from``), VGG19
phi_5,4 features rescaled by 1/12.75, Adam (beta1 0.9) at 1e-4 for 10^5
iterations then 1e-5 for 10^5, one D step per G step. Data as 000_* 4.2.1
(96x96 HR patches, batch 16, bicubic x4, COCO 2017 + ImageNet train in equal
parts). Starting without ``init_from`` is refused unless ``train.pretrain_steps``
asks for fidelity pre-training in this run.

The ``quick`` preset trains a small SRGAN-MSE (random VGG weights would make a
meaningless VGG loss, and no pretrained weights can be downloaded offline): 600
fidelity pre-training steps then 300 GAN steps on built-in dead-leaves images.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import common  # noqa: E402


def get_config(arg: str | None = None):
    c = common.get_config()
    c.method = "joint"
    c.loss.fidelity = "vgg"
    c.loss.adversarial_weight = 1e-3
    c.optimizer.lr_boundaries = (100_000,)
    c.optimizer.lr_decay = 0.1
    c.train.num_steps = 200_000
    return common.apply_preset(c, arg, {"quick": common.quick_gan})
