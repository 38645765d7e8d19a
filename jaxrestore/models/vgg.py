"""VGG19 feature extractor (Simonyan & Zisserman, configuration E) for perceptual losses.

The layer layout is torchvision's ``vgg19().features``: sixteen 3x3 convolutions
(each followed by ReLU) in five blocks, every block closed by a 2x2 max pool, so
that weights written by torchvision map one to one (see
:mod:`jaxrestore.weights.vgg19`). Layers are named ``conv{b}_{i}`` (before the
ReLU), ``relu{b}_{i}`` (after it) and ``pool{b}``.

SRGAN's VGG loss uses φ5,4, the feature map after the ReLU of the fourth
convolution of block 5, i.e. ``relu5_4`` (Ledig et al., 2017, Sec. 2.2.1);
ESRGAN takes the features *before* activation, ``conv5_4`` (Wang et al., 2018,
Sec. 3.3), and LSRGAN's contextual loss reads ``conv3_4``.

Images are NHWC float32 RGB in [0, 1]; the ImageNet mean/std normalisation that
torchvision's pretrained weights expect is applied inside the module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import ConfigError, DataError

# Output channels of the convolutions of each block (configuration "E").
BLOCK_CHANNELS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256, 256),
    (512, 512, 512, 512),
    (512, 512, 512, 512),
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_table() -> tuple[tuple[str, ...], dict[str, int]]:
    """All layer names in execution order, and torchvision's ``features`` index of each conv."""
    names: list[str] = []
    conv_index: dict[str, int] = {}
    index = 0
    for b, channels in enumerate(BLOCK_CHANNELS, start=1):
        for i in range(1, len(channels) + 1):
            conv_index[f"conv{b}_{i}"] = index
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
            index += 2  # Conv2d, ReLU
        names.append(f"pool{b}")
        index += 1  # MaxPool2d
    return tuple(names), conv_index


LAYER_NAMES, TORCHVISION_CONV_INDEX = _layer_table()
"""Every layer name in forward order; ``conv{b}_{i}`` -> index N of ``features.N.weight``."""

CONV_NAMES: tuple[str, ...] = tuple(TORCHVISION_CONV_INDEX)


def check_layers(layers: Sequence[str]) -> tuple[str, ...]:
    """Returns ``layers`` as a tuple, or raises ConfigError naming an unknown layer."""
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    if not layers:
        raise ConfigError("No VGG19 layer was requested; name at least one, e.g. 'relu5_4'.")
    unknown = [name for name in layers if name not in LAYER_NAMES]
    if unknown:
        raise ConfigError(
            f"Unknown VGG19 layer {unknown[0]!r}; use conv{{b}}_{{i}}, relu{{b}}_{{i}} or "
            f"pool{{b}} with blocks 1-5, e.g. 'relu5_4' (SRGAN) or 'conv5_4' (ESRGAN)."
        )
    return layers


class VGG19(nn.Module):
    """VGG19 convolutional features with torchvision's layout; no classifier.

    Attributes:
      dtype: computation dtype (parameters stay float32).
      precision: passed to every convolution (e.g. ``jax.lax.Precision.HIGHEST``).
    """

    dtype: Any = jnp.float32
    precision: Any = None

    @nn.compact
    def __call__(self, x, *, layers: Sequence[str] = ("relu5_4",)) -> dict[str, Any]:
        """Returns ``{name: NHWC features}`` for ``layers``, computing only up to the deepest.

        ``x`` is an NHWC RGB batch in [0, 1]. To create every parameter with
        ``init``, request the last layer, ``layers=("pool5",)``.
        """
        layers = check_layers(layers)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise DataError(
                f"VGG19 expects an NHWC RGB batch but got shape {tuple(x.shape)}; "
                "add a batch axis or repeat a grey channel three times."
            )
        deepest = max(LAYER_NAMES.index(name) for name in layers)
        wanted = set(layers)
        out: dict[str, Any] = {}

        mean = jnp.asarray(IMAGENET_MEAN, self.dtype)
        std = jnp.asarray(IMAGENET_STD, self.dtype)
        h = (jnp.asarray(x, self.dtype) - mean) / std

        def keep(name: str, value) -> bool:
            """Records ``value`` if requested; True once the deepest layer is reached."""
            if name in wanted:
                out[name] = value
            return LAYER_NAMES.index(name) == deepest

        for b, channels in enumerate(BLOCK_CHANNELS, start=1):
            for i, features in enumerate(channels, start=1):
                h = nn.Conv(
                    features,
                    (3, 3),
                    padding=((1, 1), (1, 1)),
                    dtype=self.dtype,
                    precision=self.precision,
                    name=f"conv{b}_{i}",
                )(h)
                if keep(f"conv{b}_{i}", h):
                    return out
                h = nn.relu(h)
                if keep(f"relu{b}_{i}", h):
                    return out
            h = nn.max_pool(h, (2, 2), strides=(2, 2), padding="VALID")
            if keep(f"pool{b}", h):
                return out
        return out
