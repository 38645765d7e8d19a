"""Pretrained VGG19 weights for :class:`jaxrestore.models.vgg.VGG19`.

The weights come from a torchvision ``vgg19`` state dict (e.g. ``vgg19-dcbb9e9d.pth``,
or the torch-free ``.npz`` that ``python -m jaxrestore.convert vgg19`` writes from
it): ``features.N.weight`` (OIHW) and ``features.N.bias`` for the sixteen
convolutions; ``classifier.*`` is ignored. The result is the module's ``params``
collection, to be used as ``VGG19().apply({"params": params}, x, layers=...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.models.vgg import BLOCK_CHANNELS, CONV_NAMES, TORCHVISION_CONV_INDEX
from jaxrestore.weights.state_dict import first_few, load_state_dict

log = logging.getLogger(__name__)


def expected_torchvision_shapes() -> dict[str, tuple[int, ...]]:
    """``{"features.N.weight": (O, I, 3, 3), "features.N.bias": (O,)}`` for every conv."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    convs = iter(CONV_NAMES)
    for channels in BLOCK_CHANNELS:
        for out_channels in channels:
            index = TORCHVISION_CONV_INDEX[next(convs)]
            shapes[f"features.{index}.weight"] = (out_channels, in_channels, 3, 3)
            shapes[f"features.{index}.bias"] = (out_channels,)
            in_channels = out_channels
    return shapes


def torchvision_features(state_dict: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sixteen convolutions' arrays under torchvision's ``features.N.*`` keys, as float32.

    Also accepts the state dict of ``vgg19().features`` alone (keys ``N.weight``).
    Raises CheckpointError naming missing keys or keys of the wrong shape.
    """
    if not any(k.startswith("features.") for k in state_dict):
        state_dict = {f"features.{k}": v for k, v in state_dict.items() if k[:1].isdigit()}
    expected = expected_torchvision_shapes()
    missing = [k for k in expected if k not in state_dict]
    if missing:
        raise CheckpointError(
            f"The VGG19 state dict lacks {len(missing)} key(s) ({first_few(missing, 4)}); "
            "use a torchvision vgg19 (not vgg19_bn) state dict such as vgg19-dcbb9e9d.pth."
        )
    wrong = [
        f"{k} {tuple(np.shape(state_dict[k]))} != {shape}"
        for k, shape in expected.items()
        if tuple(np.shape(state_dict[k])) != shape
    ]
    if wrong:
        raise CheckpointError(
            f"The VGG19 state dict has {len(wrong)} array(s) of the wrong shape "
            f"({first_few(wrong, 3)}); use a torchvision vgg19 state dict, not another model's."
        )
    return {k: np.asarray(state_dict[k], dtype=np.float32) for k in expected}


def vgg19_params_from_torchvision(state_dict: Mapping[str, np.ndarray]) -> dict:
    """Maps a torchvision vgg19 state dict to the ``params`` of :class:`VGG19`.

    Kernels go from PyTorch's OIHW to Flax's HWIO; ``classifier.*`` is ignored. The
    leaves are device arrays; pass them to jitted code as an argument (not a closure),
    so that 80 MB of weights are not baked into the compiled program as constants.
    """
    features = torchvision_features(state_dict)
    params = {}
    for name in CONV_NAMES:
        index = TORCHVISION_CONV_INDEX[name]
        weight = features[f"features.{index}.weight"]
        params[name] = {
            "kernel": jnp.asarray(weight.transpose(2, 3, 1, 0)),
            "bias": jnp.asarray(features[f"features.{index}.bias"]),
        }
    return params


def load_vgg19_params(weights: str, *, allow_random: bool = False, key=None) -> dict:
    """Returns VGG19 ``params`` from a torchvision-layout file, or random ones if allowed.

    Args:
      weights: path to a torchvision vgg19 state dict (.pth/.pt, .safetensors) or the
        .npz written by ``python -m jaxrestore.convert vgg19``; may be empty only
        together with ``allow_random``.
      allow_random: with no ``weights``, initialise randomly (tests and debugging
        only: a VGG loss on random features is not SRGAN's perceptual loss).
      key: PRNG key for the random initialisation (default ``PRNGKey(0)``).
    """
    if weights:
        return vgg19_params_from_torchvision(load_state_dict(weights))
    if not allow_random:
        raise ConfigError(
            "The VGG loss needs pretrained VGG19 weights; set "
            "--config.loss.vgg_weights=PATH to a torchvision vgg19 file (e.g. "
            "vgg19-dcbb9e9d.pth, or a .npz written by `python -m jaxrestore.convert vgg19 "
            "--input=... --output=vgg19.npz`), or set --config.loss.vgg_random_init=True "
            "to use random weights for tests and debugging only."
        )
    log.warning(
        "VGG19 is randomly initialised (vgg_random_init=True): the VGG loss is NOT a "
        "perceptual loss; use this only for tests and debugging."
    )
    if key is None:
        key = jax.random.PRNGKey(0)
    return random_vgg19_params(key)


def random_vgg19_params(key) -> dict:
    """He-normal kernels and zero biases, drawn with NumPy from a seed taken from ``key``.

    NumPy rather than ``VGG19().init``: drawing 20M truncated normals with JAX's
    threefry is slow on a CPU, and this path exists for fast tests.
    """
    seed = np.asarray(jax.random.key_data(key), dtype=np.uint32).ravel().tolist()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    params = {}
    for name, (out_channels, in_channels, kh, kw) in zip(CONV_NAMES, _conv_shapes()):
        std = np.sqrt(2.0 / (in_channels * kh * kw))
        kernel = rng.standard_normal((kh, kw, in_channels, out_channels), dtype=np.float32) * std
        params[name] = {"kernel": jnp.asarray(kernel), "bias": jnp.zeros((out_channels,), jnp.float32)}
    return params


def _conv_shapes() -> list[tuple[int, ...]]:
    """OIHW shapes of the sixteen convolutions, in order."""
    shapes = expected_torchvision_shapes()
    return [shapes[f"features.{TORCHVISION_CONV_INDEX[name]}.weight"] for name in CONV_NAMES]
