"""The LPIPS v0.1 network (Zhang, Isola, Efros, Shechtman, Wang: "The Unreasonable Effectiveness of
Deep Features as a Perceptual Metric", CVPR 2018, Eq. 1): an ImageNet backbone (AlexNet, the
official default, or VGG16) whose five ReLU outputs are tapped, unit-normalised over channels,
and compared through learned 1x1 heads. Built as the official ``lpips`` package builds it
(``lpips.LPIPS(net='alex', version='0.1')``); the distance function is
:mod:`jaxrestore.metrics.lpips`, the weights come through :mod:`jaxrestore.weights.lpips`.
Images are NHWC float32 RGB in [0, 1]; the mapping to the network's [-1, 1] happens inside
:class:`LPIPS`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

# The official ScalingLayer, applied to images in [-1, 1]: (x - SHIFT) / SCALE.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # added to the channel norm before dividing, as in lpips.normalize_tensor


class Conv(NamedTuple):
    """A convolution + ReLU at ``index`` of torchvision's ``features``; ``tap``: an LPIPS layer."""

    index: int
    features: int
    kernel: int
    stride: int
    padding: int
    tap: bool


class Pool(NamedTuple):
    """A max pool (no padding, floor division: torchvision's ``ceil_mode=False``)."""

    window: int
    stride: int


def _vgg16_layers() -> tuple[Conv | Pool, ...]:
    """torchvision ``vgg16().features`` up to relu5_3; taps relu1_2, 2_2, 3_3, 4_3, 5_3."""
    layers: list[Conv | Pool] = []
    index = 0
    for block, (channels, count) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        if block:
            layers.append(Pool(2, 2))
            index += 1
        for i in range(count):
            layers.append(Conv(index, channels, 3, 1, 1, tap=i == count - 1))
            index += 2  # the conv and its ReLU
    return tuple(layers)


# The backbones as the official code slices torchvision's ``features`` (indices matter:
# weight files name the convolutions by them).
BACKBONES: dict[str, tuple[Conv | Pool, ...]] = {
    "alex": (
        Conv(0, 64, 11, 4, 2, tap=True), Pool(3, 2),
        Conv(3, 192, 5, 1, 2, tap=True), Pool(3, 2),
        Conv(6, 384, 3, 1, 1, tap=True),
        Conv(8, 256, 3, 1, 1, tap=True),
        Conv(10, 256, 3, 1, 1, tap=True),
    ),
    "vgg": _vgg16_layers(),
}
_ALIASES = {"alex": "alex", "alexnet": "alex", "vgg": "vgg", "vgg16": "vgg"}


def canonical_net(net: str) -> str:
    """``"alex"`` or ``"vgg"`` for the accepted spellings (alex, alexnet, vgg, vgg16)."""
    name = _ALIASES.get(str(net).lower())
    if name is None:
        raise ConfigError(
            f"LPIPS has no backbone {net!r}; use net='alex' (the official default) or net='vgg'."
        )
    return name


def tap_channels(net: str) -> tuple[int, ...]:
    """Channels of the five tapped feature maps, e.g. (64, 192, 384, 256, 256) for AlexNet."""
    layers = BACKBONES[canonical_net(net)]
    return tuple(layer.features for layer in layers if isinstance(layer, Conv) and layer.tap)


@functools.lru_cache(maxsize=None)
def min_image_size(net: str) -> int:
    """The smallest height/width for which every tap still has at least one pixel."""
    size = 1
    while not _tap_sizes(net, size):
        size += 1
    return size


def _tap_sizes(net: str, size: int) -> list[int]:
    sizes = []
    for layer in BACKBONES[canonical_net(net)]:
        if isinstance(layer, Pool):
            size = (size - layer.window) // layer.stride + 1
        else:
            size = (size + 2 * layer.padding - layer.kernel) // layer.stride + 1
            if layer.tap:
                sizes.append(size)
        if size < 1:
            return []
    return sizes


# ------------------------------------------------------------------------------- modules


class Backbone(nn.Module):
    """The ImageNet trunk; returns the five tapped ReLU outputs (NHWC)."""

    net: str = "alex"

    @nn.compact
    def __call__(self, x) -> list[jax.Array]:
        taps = []
        for layer in BACKBONES[canonical_net(self.net)]:
            if isinstance(layer, Pool):
                x = nn.max_pool(x, (layer.window,) * 2, strides=(layer.stride,) * 2)
                continue
            x = nn.Conv(
                layer.features,
                (layer.kernel,) * 2,
                strides=(layer.stride,) * 2,
                padding=((layer.padding,) * 2,) * 2,
                precision=jax.lax.Precision.HIGHEST,  # float32 on accelerators too
                name=f"features_{layer.index}",
            )(x)
            x = nn.relu(x)
            if layer.tap:
                taps.append(x)
        return taps


def normalize_channels(features: jax.Array) -> jax.Array:
    """Each feature vector divided by its L2 norm over channels (+ EPS)."""
    norm = jnp.sqrt(jnp.sum(features * features, axis=-1, keepdims=True))
    return features / (norm + EPS)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance of two NHWC batches in [0, 1] -> ``(N,)`` (Zhang et al., 2018, Eq. 1).

    Parameters: ``features_<i>`` (the backbone's convolutions, named by their index
    in torchvision's ``features``) and ``lin0``..``lin4`` (the 1x1 heads, no bias).
    """

    net: str = "alex"

    @nn.compact
    def __call__(self, x, y) -> jax.Array:
        shift = jnp.asarray(SHIFT, jnp.float32)
        scale = jnp.asarray(SCALE, jnp.float32)
        both = jnp.concatenate([x, y], axis=0)  # one backbone pass for both batches
        both = (2.0 * both - 1.0 - shift) / scale
        taps = Backbone(self.net, name="backbone")(both)
        total = 0.0
        for k, features in enumerate(taps):
            fx, fy = jnp.split(normalize_channels(features), 2, axis=0)
            weighted = nn.Conv(
                1, (1, 1), use_bias=False, precision=jax.lax.Precision.HIGHEST, name=f"lin{k}"
            )((fx - fy) ** 2)
            total = total + jnp.mean(weighted, axis=(1, 2, 3))
        return total
