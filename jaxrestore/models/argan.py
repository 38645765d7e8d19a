"""ARGAN's generator and patch discriminator (Galteri et al., "Deep Generative
Adversarial Compression Artifact Removal", ICCV 2017 — reference [4] of 000_*).

What 000_* fixes (section 4.1.1) and this module follows: the generator maps a
48x48 JPEG patch, together with "a random noise patch of the size 24x24", to the
restored patch; one network per quality factor. 000_* does not say which channel
it restores; this project defines the task on the luma channel (the Y of MATLAB's
rgb2ycbcr, see ``jaxrestore.imaging.jpeg``), so both networks see one image channel.

What comes from Galteri et al.'s description and is kept: a fully convolutional
residual generator of 3x3 convolutions with 64 feature maps, batch normalisation
and leaky ReLUs, that first halves the resolution with a stride-2 convolution —
which is why 000_*'s noise patch is half the input patch — and restores it with
a sub-pixel (pixel shuffle) x2 stage; 15 residual blocks; a conditional
discriminator that sees the compressed patch beside the real or restored one and
decides on sub-patches rather than on the whole patch. Details their text leaves
to the reader and that we fixed here (documented so that they can be changed):
leaky ReLU slope 0.2, the noise is one standard-normal channel concatenated to
the features after the stride-2 convolution, an SRResNet-style long skip around
the residual trunk, and a linear last convolution whose output is read in
[-1, 1]. The discriminator is the SRGAN discriminator's convolutional part
without its dense head: 3x3 conv (64) + LeakyReLU, then [3x3 conv, BN,
LeakyReLU] with (features, stride) (64,2) (128,1) (128,2) (256,1) (256,2), and a
1x1 convolution to one logit per position of a map at stride 8 (a 48x48 patch
gives a 6x6 map). Each logit sees a 29x29-pixel window of the input (three
stride-2 and three stride-1 3x3 convolutions), and neighbouring windows are 8
pixels apart, so they overlap by 21 pixels: the logits judge overlapping patches,
not disjoint 8x8 sub-patches.

Noise at inference: the generator draws its noise from the ``"noise"`` PRNG
stream when one is given (training). Without one (inference) the noise is a
function of the absolute position in the image: the value at half-resolution
pixel (i, j) of the *whole* image is a standard normal drawn from a fixed key
folded with i and j, and a crop of the image passes its top-left corner as
``offset``. So a trained model's output is deterministic, drawn from the noise
distribution it was trained on, and a tile restored with its offset sees exactly
the noise the whole image gives it there: tiled restoration equals whole-image
inference with the noise on.

Conventions: NHWC images in [0, 1]; the generator returns its prediction mapped
back to [0, 1], unclipped. ``input_skip`` (off in the paper configs) adds the
input to the output, so the network starts as the identity on the JPEG and learns
a correction; the offline ``quick`` presets use it, as the SR presets use
``bicubic_skip``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrestore.models.srresnet import batch_norm, conv, pixel_shuffle

DISCRIMINATOR_BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2))
INFERENCE_NOISE_SEED = 0


def position_noise(rows, cols, channels: int, dtype=jnp.float32) -> jnp.ndarray:
    """The inference noise at absolute half-resolution positions: ``[len(rows), len(cols),
    channels]`` standard normals, the one at (i, j) drawn from a fixed key folded with i then j."""
    base = jax.random.key(INFERENCE_NOISE_SEED)

    def at(i, j):
        return jax.random.normal(jax.random.fold_in(jax.random.fold_in(base, i), j), (channels,), dtype)

    return jax.vmap(lambda i: jax.vmap(lambda j: at(i, j))(cols))(rows)


def _leaky(x):
    return nn.leaky_relu(x, 0.2)


class _ResidualBlock(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x, train: bool):  # positional train: nn.remat takes it as a static argument
        y = _leaky(batch_norm(train)(conv(self.features, 3)(x)))
        y = batch_norm(train)(conv(self.features, 3)(y))
        return x + y


class ARGANGenerator(nn.Module):
    """``__call__(degraded, train=..., offset=(0, 0))``: NHWC JPEG image in [0, 1] -> restored,
    same shape.

    Height and width must be even (``size_multiple``): the trunk runs at half
    resolution. ``ModelRestorer`` pads other sizes. ``offset`` is the (row, column)
    of ``degraded``'s top-left pixel in the whole image (even), which places the
    inference noise; it is ignored when a ``"noise"`` stream is given.
    """

    channels: int = 1
    num_blocks: int = 15
    features: int = 64
    noise_channels: int = 1
    input_skip: bool = False
    remat: bool = False  # recompute each residual block's activations in the backward pass
    size_multiple = 2

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can change an output pixel, counting the head and the stride-2 conv at
        full resolution; merge, two convs per block, body and up conv at half resolution (2 pixels
        each); the tail, and one more for where a full-resolution pixel falls in its half-resolution
        one (measured from the gradient's support in tests/test_user_faults.py)."""
        return 2 + 2 * (3 + 2 * self.num_blocks) + 2
    takes_offset = True  # ModelRestorer passes a tile's position (see the module docstring)

    @nn.compact
    def __call__(self, degraded: jnp.ndarray, *, train: bool = False, offset=(0, 0)) -> jnp.ndarray:
        n, h, w, _ = degraded.shape
        if h % 2 or w % 2:
            raise ValueError(f"ARGANGenerator needs even height and width, got {h}x{w}.")
        x = degraded * 2.0 - 1.0
        x = _leaky(conv(self.features, 3, name="head")(x))
        x = _leaky(conv(self.features, 3, name="down", stride=2)(x))
        if self.noise_channels:
            if self.has_rng("noise"):
                shape = (n, h // 2, w // 2, self.noise_channels)
                noise = jax.random.normal(self.make_rng("noise"), shape, x.dtype)
            else:
                rows = jnp.asarray(offset[0]) // 2 + jnp.arange(h // 2)
                cols = jnp.asarray(offset[1]) // 2 + jnp.arange(w // 2)
                noise = position_noise(rows, cols, self.noise_channels, x.dtype)
                noise = jnp.broadcast_to(noise[None], (n, *noise.shape))
            x = jnp.concatenate([x, noise], axis=-1)
        x = skip = _leaky(conv(self.features, 3, name="merge")(x))
        block = nn.remat(_ResidualBlock, static_argnums=(2,)) if self.remat else _ResidualBlock
        for i in range(self.num_blocks):
            x = block(self.features, name=f"block{i}")(x, train)
        x = batch_norm(train, name="body_bn")(conv(self.features, 3, name="body_conv")(x)) + skip
        x = pixel_shuffle(conv(self.features * 4, 3, name="up_conv")(x), 2)
        x = _leaky(x)
        if self.input_skip:
            tail = nn.Conv(self.channels, (3, 3), padding=((1, 1), (1, 1)),
                           kernel_init=nn.initializers.zeros, name="tail")
            return degraded + tail(x) * 0.5
        return (conv(self.channels, 3, name="tail")(x) + 1.0) * 0.5


class ARGANDiscriminator(nn.Module):
    """``__call__(images, condition, train=...)``: one logit per 29x29 window at stride 8, [N, H/8, W/8].

    ``condition`` is the JPEG input the candidate restores (conditional GAN), with
    the same height and width as ``images``.
    """

    base_features: int = 64
    conditional = True

    @nn.compact
    def __call__(self, images: jnp.ndarray, condition: jnp.ndarray, *,
                 train: bool = False) -> jnp.ndarray:
        x = jnp.concatenate([condition, images], axis=-1) * 2.0 - 1.0
        x = _leaky(conv(self.base_features, 3, name="head")(x))
        for i, (features, stride) in enumerate(DISCRIMINATOR_BLOCKS):
            features = features * self.base_features // 64
            x = conv(features, 3, name=f"block{i}_conv", stride=stride)(x)
            x = _leaky(batch_norm(train, name=f"block{i}_bn")(x))
        return nn.Conv(1, (1, 1), name="logit")(x)[..., 0]
