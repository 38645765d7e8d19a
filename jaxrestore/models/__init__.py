"""Every network of the package, as Flax modules only (no losses, no training logic): the
restoration generators and discriminators of 000_* and 001_*, the GAN priors of 002_* and 003_*
(DCGAN, BEGAN, PGGAN), Deep Image Prior's skip net, and the fixed networks of the losses and
metrics (VGG19, FID's Inception-v3, LPIPS).

``build_generator`` / ``build_discriminator`` / ``build_encoder`` turn a config's
``model`` fields into a module, so methods, evaluation and conversion share one
registry.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn

from jaxrestore.errors import ConfigError
from jaxrestore.models.argan import ARGANDiscriminator, ARGANGenerator
from jaxrestore.models.began import BEGANDiscriminator, BEGANGenerator
from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator
from jaxrestore.models.dip import SkipNet, skip_net
from jaxrestore.models.esrgan_discriminator import VGGStyleDiscriminator
from jaxrestore.models.inception import FIDInceptionV3
from jaxrestore.models.lpips import LPIPS
from jaxrestore.models.lsr_encoder import LSREncoder
from jaxrestore.models.pggan import PGGANGenerator
from jaxrestore.models.rrdbnet import RRDBNet
from jaxrestore.models.srgan_discriminator import SRGANDiscriminator
from jaxrestore.models.srresnet import SRResNet
from jaxrestore.models.vgg import VGG19

__all__ = ["ARGANDiscriminator", "ARGANGenerator", "BEGANDiscriminator", "BEGANGenerator", "DCGANDiscriminator",
           "DCGANGenerator", "DISCRIMINATORS", "ENCODERS", "FIDInceptionV3", "GENERATORS", "LPIPS", "LSREncoder",
           "PGGANGenerator", "RRDBNet", "SRGANDiscriminator", "SRResNet", "SkipNet", "VGG19", "VGGStyleDiscriminator",
           "build_discriminator", "build_encoder", "build_generator", "skip_net"]

#: The generators a config names in ``model.generator``, by name.
GENERATORS = {"srresnet": SRResNet, "argan": ARGANGenerator, "rrdbnet": RRDBNet}
#: The discriminators a config names in ``model.discriminator``, by name.
DISCRIMINATORS = {"srgan": SRGANDiscriminator, "argan": ARGANDiscriminator, "vgg128": VGGStyleDiscriminator}
#: LSRGAN's latent-space encoders L, by name (``model.encoder``).
ENCODERS = {"lsr": LSREncoder}


def build_generator(model_cfg, *, scale: int) -> nn.Module:
    """The generator named by ``model_cfg.generator`` for a ×``scale`` task (the JPEG generator ignores it)."""
    name = model_cfg.generator
    if name not in GENERATORS:
        raise ConfigError(
            f"unknown generator {name!r}; set config.model.generator to one of {sorted(GENERATORS)}.")
    if name == "srresnet":
        return SRResNet(scale=scale, num_blocks=model_cfg.num_blocks, features=model_cfg.features,
                        bicubic_skip=model_cfg.get("bicubic_skip", False), remat=model_cfg.get("remat", False))
    if name == "argan":
        return ARGANGenerator(channels=model_cfg.get("channels", 1), num_blocks=model_cfg.num_blocks,
                              features=model_cfg.features, input_skip=model_cfg.get("input_skip", False),
                              remat=model_cfg.get("remat", False))
    if name == "rrdbnet":
        return RRDBNet(scale=scale, features=model_cfg.features, num_blocks=model_cfg.num_blocks,
                       growth=model_cfg.get("growth", 32), remat=model_cfg.get("remat", False))
    raise AssertionError(name)


def build_discriminator(model_cfg, *, axis_name: str | None = None) -> nn.Module:
    """The discriminator named by ``model_cfg.discriminator``; ``axis_name`` (the device
    axis to average BatchNorm statistics over) goes to the modules that take one."""
    name = model_cfg.discriminator
    if name not in DISCRIMINATORS:
        raise ConfigError(
            f"unknown discriminator {name!r}; set config.model.discriminator to one of "
            f"{sorted(DISCRIMINATORS)}.")
    cls = DISCRIMINATORS[name]
    kwargs = {"base_features": model_cfg.d_features}
    if axis_name is not None and "axis_name" in {f.name for f in dataclasses.fields(cls)}:
        kwargs["axis_name"] = axis_name
    return cls(**kwargs)


def build_encoder(model_cfg, *, scale: int) -> nn.Module:
    """LSRGAN's companion encoder L, named by ``model_cfg.encoder`` (only ``"lsr"``)."""
    name = model_cfg.get("encoder", "")
    if name not in ENCODERS:
        raise ConfigError(
            f"unknown encoder {name!r}; set config.model.encoder to one of {sorted(ENCODERS)} "
            "(LSRGAN's companion encoder L).")
    return LSREncoder(scale=scale, vgg_blocks=model_cfg.get("encoder_blocks", 3),
                      features=model_cfg.get("encoder_features", 64),
                      vgg_width=model_cfg.get("encoder_vgg_width", 1.0))
