"""Cosine contextual loss CCX of 001 eq. (11) (after Mechrez et al., ECCV 2018).

Each image is the set of its feature vectors, one per spatial position of a
feature map: ``x_i`` for the restored image G(z), ``y_j`` for the target y, N of
each. For every image:

    d_ij  = 1 - cos(x_i - r, y_j - r),  r = mean_j y_j    (cosine distance)
    d'_ij = d_ij / (min_k d_ik + eps)
    A_ij  = exp((1 - d'_ij) / h) / sum_k exp((1 - d'_ik) / h)
    CCX   = -log((1/N) sum_j max_i A_ij)

001 writes ``d_ij`` as the cosine *similarity*, but eq. (11) only makes sense with
a distance (the nearest point must get the largest weight), and Mechrez et al.
define ``d_ij`` as the cosine distance ``1 - cos``; we follow Mechrez. (Their
TensorFlow code uses ``(1 - cos) / 2``, which amounts to ``eps = 2e-5`` here.)
001's ``exp(1 - d'/h)`` and Mechrez's ``exp((1 - d')/h)`` differ by a factor
constant in k, so the normalised ``A`` is the same. The bandwidth default
``h = 0.5`` is Mechrez et al.'s (``config.CX.nn_stretch_sigma = 0.5`` in
github.com/roimehrez/contextualLoss); 001 does not state its value.
``r`` is the mean over one target image's points, as in 001 ("the average of the
points in Y"); Mechrez's code averages over the whole batch of targets instead.

Images are NHWC float32 RGB in [0, 1] (see :mod:`jaxrestore.losses.perceptual`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.losses.perceptual import vgg_features
from jaxrestore.losses.pixel import check_same_shape

# Squared norms below this count as zero when normalising (a point at r has no direction).
_TINY = 1e-12


def _unit(v):
    return v * jax.lax.rsqrt(jnp.maximum(jnp.sum(jnp.square(v), axis=-1, keepdims=True), _TINY))


def contextual_loss(x_features, y_features, *, bandwidth: float = 0.5, eps: float = 1e-5):
    """CCX of 001 eq. (11) between NHWC feature maps, averaged over the batch.

    ``x_features`` are the restored image's, ``y_features`` the target's; both
    have shape (B, H, W, C). Returns a scalar >= 0 (about 0 when every target point is
    matched by exactly one restored point and vice versa, e.g. for identical maps).
    """
    if jnp.ndim(x_features) != 4 or jnp.shape(x_features) != jnp.shape(y_features):
        raise ValueError(
            f"contextual_loss takes two NHWC feature maps of the same shape, got {jnp.shape(x_features)} "
            f"and {jnp.shape(y_features)}; compute both with the same network layer on equally sized images.")
    if bandwidth <= 0:
        raise ValueError(f"the contextual loss bandwidth h must be positive, got {bandwidth}; Mechrez et al. use 0.5.")
    b, h, w, c = jnp.shape(x_features)
    x = jnp.asarray(x_features, jnp.float32).reshape(b, h * w, c)
    y = jnp.asarray(y_features, jnp.float32).reshape(b, h * w, c)
    r = jnp.mean(y, axis=1, keepdims=True)
    cosine = jnp.einsum("bic,bjc->bij", _unit(x - r), _unit(y - r))
    d = jnp.maximum(1.0 - cosine, 0.0)  # rounding can push cos a hair above 1
    d_rel = d / (jnp.min(d, axis=-1, keepdims=True) + eps)
    a = jax.nn.softmax((1.0 - d_rel) / bandwidth, axis=-1)  # normalised over k (target points) for each i
    cx = jnp.mean(jnp.max(a, axis=1), axis=-1)  # (1/N) sum_j max_i A_ij
    return jnp.mean(-jnp.log(cx))


def vgg_contextual_loss(vgg_params, restored, target, *, layer: str = "conv3_4", bandwidth: float = 0.5,
                        dtype=None):
    """CCX (001 eq. 11) on VGG19 features; 001 uses ``conv3_4``, before its ReLU.

    The target's features are under ``stop_gradient``. Images are NHWC in [0, 1].
    """
    check_same_shape(restored, target)
    restored_features = vgg_features(vgg_params, restored, layers=(layer,), dtype=dtype)[layer]
    target_features = jax.lax.stop_gradient(vgg_features(vgg_params, target, layers=(layer,), dtype=dtype)[layer])
    return contextual_loss(restored_features, target_features, bandwidth=bandwidth)
