"""Flax modules only (no losses, no training logic).

``build_generator`` / ``build_discriminator`` turn a config's ``model`` fields
into a module, so methods, evaluation and conversion share one registry.
"""

from __future__ import annotations

import flax.linen as nn

from jaxrestore.errors import ConfigError
from jaxrestore.models.argan import ARGANDiscriminator, ARGANGenerator
from jaxrestore.models.srgan_discriminator import SRGANDiscriminator
from jaxrestore.models.srresnet import SRResNet

GENERATORS = {"srresnet": SRResNet, "argan": ARGANGenerator}
DISCRIMINATORS = {"srgan": SRGANDiscriminator, "argan": ARGANDiscriminator}


def build_generator(model_cfg, *, scale: int) -> nn.Module:
    name = model_cfg.generator
    if name not in GENERATORS:
        raise ConfigError(
            f"unknown generator {name!r}; set config.model.generator to one of {sorted(GENERATORS)}.")
    if name == "srresnet":
        return SRResNet(scale=scale, num_blocks=model_cfg.num_blocks, features=model_cfg.features,
                        bicubic_skip=model_cfg.get("bicubic_skip", False))
    if name == "argan":
        return ARGANGenerator(channels=model_cfg.get("channels", 1), num_blocks=model_cfg.num_blocks,
                              features=model_cfg.features, input_skip=model_cfg.get("input_skip", False))
    raise AssertionError(name)


def build_discriminator(model_cfg) -> nn.Module:
    name = model_cfg.discriminator
    if name not in DISCRIMINATORS:
        raise ConfigError(
            f"unknown discriminator {name!r}; set config.model.discriminator to one of "
            f"{sorted(DISCRIMINATORS)}.")
    return DISCRIMINATORS[name](base_features=model_cfg.d_features)
