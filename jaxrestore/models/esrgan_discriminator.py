"""The ESRGAN discriminator (Wang et al., ECCV-W 2018; the authors' ``Discriminator_VGG_128``),
used unchanged by 001_* for ESRGAN, LSRGAN and their constrained variants.

Layout, with nf = ``base_features``: 3x3 conv (nf, bias) + LeakyReLU 0.2; then
five stages, each [3x3 conv stride 1, BN, LeakyReLU 0.2] and [4x4 conv stride 2
(padding 1), BN, LeakyReLU 0.2], with output channels (nf, nf) for stage 0 (whose
first conv is the biased head conv above, so it has only the strided one), (2nf,
2nf), (4nf, 4nf), (8nf, 8nf), (8nf, 8nf); all these convs have no bias. Then
flatten, dense 100 + LeakyReLU 0.2, dense 1. It returns one logit per image,
shape [N]; the relativistic losses of ESRGAN work on logits.

Input: NHWC HR images in [0, 1], fed as they are (ESRGAN's images are in [0, 1]).
The paper's patches are 128x128, which five stride-2 stages reduce to 4x4x8nf
before the dense layer. Any height and width that are multiples of 32 work (the
dense layer is sized at init from the input: a 32x32 patch gives 1x1x8nf), but
weights are tied to the size they were initialised for. The flatten is over
(H, W, C), NHWC order; a PyTorch ``linear1`` weight maps onto ``dense`` after
reordering its (C, H, W) input axis.

BatchNorm uses PyTorch's defaults (momentum 0.1, eps 1e-5), running averages
when ``train`` is False, and batch statistics averaged over the named device axis
``axis_name`` when it is set (inside a pmapped or shard_mapped step).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

# (stride-1 channels, stride-2 channels) of the five stages, in units of nf; stage 0's
# stride-1 conv is the biased head conv.
STAGE_MULTIPLIERS = ((1, 1), (2, 2), (4, 4), (8, 8), (8, 8))
SIZE_MULTIPLE = 2 ** len(STAGE_MULTIPLIERS)


class VGGStyleDiscriminator(nn.Module):
    """``__call__(images, train=...)`` returns one logit per image, shape [N]."""

    base_features: int = 64
    dense_features: int = 100
    axis_name: str | None = None

    conditional = False  # sees only the (real or restored) HR image

    def _bn(self, train: bool, name: str) -> nn.BatchNorm:
        # Flax momentum is the decay of the running average: PyTorch momentum 0.1 == 0.9 here.
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                            axis_name=self.axis_name, name=name)

    @nn.compact
    def __call__(self, images: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        h, w = images.shape[1:3]
        if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE:
            raise ConfigError(
                f"the ESRGAN discriminator needs HR patches whose sides are multiples of {SIZE_MULTIPLE} "
                f"(the paper's are 128x128), got {h}x{w}; set config.data.patch_size accordingly.")
        nf = self.base_features
        x = nn.leaky_relu(nn.Conv(nf, (3, 3), padding=((1, 1), (1, 1)), name="conv0_0")(images), 0.2)
        for s, (m0, m1) in enumerate(STAGE_MULTIPLIERS):
            if s > 0:
                x = nn.Conv(m0 * nf, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, name=f"conv{s}_0")(x)
                x = nn.leaky_relu(self._bn(train, f"bn{s}_0")(x), 0.2)
            x = nn.Conv(m1 * nf, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False,
                        name=f"conv{s}_1")(x)
            x = nn.leaky_relu(self._bn(train, f"bn{s}_1")(x), 0.2)
        x = x.reshape(x.shape[0], -1)
        x = nn.leaky_relu(nn.Dense(self.dense_features, name="linear1")(x), 0.2)
        return nn.Dense(1, name="linear2")(x)[:, 0]
