"""LSRGAN's companion encoder L (001_*, Sec. 3.2 and Fig. 2): HR image -> LR-sized latent.

001_* describes L in one sentence and no table: "the encoder L is adapted from
the first few layers of the VGG16 (Simonyan and Zisserman 2015) by removing the
batch normalization and is followed by a few upscaling layers so that its output
matches the size of the LR image that is fed to the G". The authors' released
code (aicvsearch/LSRGAN) holds only test code and the generator, so the exact
layers are ours; this module is one documented reading of that sentence:

* VGG16 blocks 1..``vgg_blocks`` (default 3) without batch normalisation:
  block 1 [3x3 conv 64, ReLU] x2, block 2 [3x3 conv 128, ReLU] x2, block 3 [3x3
  conv 256, ReLU] x3 (blocks 4 and 5: [3x3 conv 512, ReLU] x3), each followed by
  a 2x2 max pool, so the features are at 1 / 2**vgg_blocks of the HR size;
* upscaling stages [nearest-neighbour x2, 3x3 conv ``features``, LeakyReLU 0.2]
  until the features are at 1 / ``scale`` of the HR size, i.e. the LR size
  (``vgg_blocks - log2(scale)`` stages: one for scale 4 and three blocks);
* a 3x3 conv to 3 channels: L's output lives where G's input does.

Input: HR NHWC RGB in [0, 1], fed as is (L is trained with the GAN, not taken
from a pretrained VGG16, so no ImageNet normalisation); output: NHWC, LR-sized,
3 channels, unclipped, in the range of the LR images G restores. There is no
normalisation, so ``train`` changes nothing.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import ConfigError
from jaxrestore.models.rrdbnet import conv3x3, upsample_nearest

# Output channels of the convolutions of VGG16's five blocks (configuration "D").
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def upscaling_stages(scale: int, vgg_blocks: int) -> int:
    """Nearest x2 stages that bring 1 / 2**vgg_blocks features back to 1 / scale."""
    if not 1 <= vgg_blocks <= len(VGG16_BLOCKS):
        raise ConfigError(f"the LSRGAN encoder takes 1 to {len(VGG16_BLOCKS)} VGG16 blocks, got "
                          f"{vgg_blocks}; set config.model.encoder_blocks accordingly.")
    if scale < 1 or scale & (scale - 1):
        raise ConfigError(f"the LSRGAN encoder upsamples by factors of 2, so the scale must be a power "
                          f"of 2, got {scale}.")
    if 2 ** vgg_blocks < scale:
        raise ConfigError(
            f"the LSRGAN encoder's {vgg_blocks} VGG16 block(s) downsample the HR image by "
            f"{2 ** vgg_blocks}, less than the scale {scale}, so it cannot reach the LR size by "
            f"upscaling; set config.model.encoder_blocks to at least {scale.bit_length() - 1}.")
    return vgg_blocks - (scale.bit_length() - 1)


class LSREncoder(nn.Module):
    """``__call__(hr, train=...)`` maps NHWC HR in [0,1] to an LR-sized 3-channel latent."""

    scale: int = 4
    vgg_blocks: int = 3
    features: int = 64
    vgg_width: float = 1.0  # VGG16's channel counts times this (1: VGG16's; the quick presets shrink it)

    @nn.compact
    def __call__(self, hr: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        del train  # no normalisation or dropout
        stages = upscaling_stages(self.scale, self.vgg_blocks)
        multiple = 2 ** self.vgg_blocks
        h, w = hr.shape[1:3]
        if h % multiple or w % multiple:
            raise ConfigError(f"the LSRGAN encoder needs HR sides that are multiples of {multiple} "
                              f"({self.vgg_blocks} max pools), got {h}x{w}; set config.data.patch_size "
                              "accordingly.")
        x = hr
        for b, channels in enumerate(VGG16_BLOCKS[:self.vgg_blocks], start=1):
            for c, out_channels in enumerate(channels, start=1):
                x = nn.relu(conv3x3(max(1, int(out_channels * self.vgg_width)), f"conv{b}_{c}")(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        for u in range(1, stages + 1):
            x = nn.leaky_relu(conv3x3(self.features, f"up{u}")(upsample_nearest(x)), 0.2)
        return conv3x3(3, "conv_out")(x)
