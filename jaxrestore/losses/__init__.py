"""Losses: pure functions of arrays; images are NHWC float32 in [0, 1]."""

from jaxrestore.losses.adversarial import discriminator_loss, generator_adversarial_loss
from jaxrestore.losses.perceptual import vgg_feature_loss, vgg_features
from jaxrestore.losses.pixel import l1, mse

__all__ = [
    "discriminator_loss",
    "generator_adversarial_loss",
    "l1",
    "mse",
    "vgg_feature_loss",
    "vgg_features",
]
