"""VGG feature (perceptual) loss of SRGAN (000 eq. 3; Ledig et al., 2017, eq. 5).

Images are NHWC float32 RGB in [0, 1]; the VGG19 module normalises them with the
ImageNet statistics itself. One-channel (luma) images, as in the JPEG task, are
replicated to three channels first, as a grey image is shown to an RGB network. ``vgg_params`` is the module's ``params`` collection,
e.g. from :func:`jaxrestore.weights.load_vgg19_params`; pass it to jitted code as
an argument so the weights are not compiled in as constants.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxrestore.losses.pixel import check_same_shape
from jaxrestore.models.vgg import VGG19, check_layers

# One stateless module instance, shared by every call (it holds no weights).
_VGG19 = VGG19()

SRGAN_FEATURE_SCALE = 1.0 / 12.75
"""Ledig et al. (2017, Sec. 3.2) rescale the VGG feature maps by 1/12.75 so that the
VGG loss is on the scale of the MSE (equivalent to weighting eq. 5 by ~0.006)."""


def vgg_features(vgg_params, images, *, layers: Sequence[str] = ("relu5_4",), dtype=None) -> dict:
    """``{layer: NHWC features}`` of ``images`` for the requested VGG19 layers, computed in
    ``dtype`` (default float32; see :mod:`jaxrestore.runtime.precision`) and returned as float32."""
    if images.shape[-1] == 1:
        images = jnp.repeat(images, 3, axis=-1)
    module = _VGG19 if dtype is None or dtype == jnp.float32 else VGG19(dtype=dtype)  # params stay float32
    features = module.apply({"params": vgg_params}, images, layers=check_layers(layers))
    return {k: v.astype(jnp.float32) for k, v in features.items()}


def vgg_feature_loss(
    vgg_params,
    restored,
    target,
    *,
    layer: str = "relu5_4",
    feature_scale: float = SRGAN_FEATURE_SCALE,
    distance: str = "l2",
    dtype=None,
):
    """Mean squared (``distance="l2"``, SRGAN) or absolute (``"l1"``, ESRGAN) difference of
    scaled VGG19 features of ``restored`` and ``target``.

    ``layer="relu5_4"`` is SRGAN's φ5,4; ESRGAN uses ``"conv5_4"`` (before the
    ReLU). The target's features are under ``stop_gradient``; gradients reach only
    ``restored`` (and ``vgg_params``, which callers normally keep fixed).
    """
    check_same_shape(restored, target)
    restored_features = vgg_features(vgg_params, restored, layers=(layer,), dtype=dtype)[layer]
    target_features = vgg_features(vgg_params, target, layers=(layer,), dtype=dtype)[layer]
    target_features = jax.lax.stop_gradient(target_features)
    diff = ((restored_features - target_features) * feature_scale).astype(jnp.float32)
    if distance == "l1":
        return jnp.mean(jnp.abs(diff))
    if distance != "l2":
        raise ValueError(f"distance must be 'l1' or 'l2', not {distance!r}")
    return jnp.mean(jnp.square(diff))
