"""The SRGAN discriminator (Ledig et al., CVPR 2017, Fig. 4), used unchanged by 000_*.

3x3 conv (64) + LeakyReLU(0.2); seven [3x3 conv, BN, LeakyReLU(0.2)] blocks with
(features, stride) = (64,2) (128,1) (128,2) (256,1) (256,2) (512,1) (512,2);
dense 1024 + LeakyReLU(0.2); dense 1. The module returns the logit: the sigmoid
of Ledig et al. is folded into the losses (jaxrestore.losses.adversarial), which
is the numerically stable form of -log D and -log(1 - D).

Input: NHWC HR images in [0, 1], mapped to [-1, 1] inside (the HR range of
Ledig et al.). The dense layer fixes the input size: 96x96 patches give a
6x6x512 map.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.models.srresnet import batch_norm, conv

BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))


class SRGANDiscriminator(nn.Module):
    """``__call__(images, train=...)`` returns one logit per image, shape [N]."""

    base_features: int = 64
    dense_features: int = 1024

    @nn.compact
    def __call__(self, images: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        x = images * 2.0 - 1.0
        x = nn.leaky_relu(conv(self.base_features, 3, name="head")(x), 0.2)
        for i, (features, stride) in enumerate(BLOCKS):
            features = features * self.base_features // 64
            x = conv(features, 3, name=f"block{i}_conv", stride=stride)(x)
            x = batch_norm(train, name=f"block{i}_bn")(x)
            x = nn.leaky_relu(x, 0.2)
        x = x.reshape(x.shape[0], -1)
        x = nn.leaky_relu(nn.Dense(self.dense_features, name="dense")(x), 0.2)
        return nn.Dense(1, name="logit")(x)[:, 0]
