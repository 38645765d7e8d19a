"""Losses: pure functions of arrays; images are NHWC float32 in [0, 1]."""

from jaxrestore.losses.adversarial import discriminator_loss, generator_adversarial_loss
from jaxrestore.losses.contextual import contextual_loss, vgg_contextual_loss
from jaxrestore.losses.perceptual import vgg_feature_loss, vgg_features
from jaxrestore.losses.pixel import l1, mse
from jaxrestore.losses.relativistic import relativistic_discriminator_loss, relativistic_generator_loss

__all__ = [
    "contextual_loss",
    "discriminator_loss",
    "generator_adversarial_loss",
    "l1",
    "mse",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "vgg_contextual_loss",
    "vgg_feature_loss",
    "vgg_features",
]
