"""Model shapes and parameter counts against counts derived from the papers' layer lists."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxrestore.models.srgan_discriminator import BLOCKS, SRGANDiscriminator
from jaxrestore.models.srresnet import SRResNet, pixel_shuffle


def conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def count(tree):
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def srresnet_count(blocks=16, f=64, scale=4):
    n = conv_params(9, 3, f) + 1                                  # head conv + PReLU
    n += blocks * (2 * conv_params(3, f, f) + 2 * 2 * f + 1)      # residual blocks (2 conv, 2 BN, PReLU)
    n += conv_params(3, f, f) + 2 * f                             # body conv + BN
    n += int(np.log2(scale)) * (conv_params(3, f, 4 * f) + 1)     # sub-pixel x2 stages
    return n + conv_params(9, f, 3)                               # tail


def test_srresnet_parameter_count_and_shape():
    model = SRResNet()
    variables = model.init(jax.random.key(0), jnp.zeros((1, 24, 24, 3)))
    assert count(variables["params"]) == srresnet_count() == 1_549_462
    out = model.apply(variables, jnp.zeros((2, 24, 20, 3)))
    assert out.shape == (2, 96, 80, 3)


@pytest.mark.parametrize("scale,stages", [(2, 1), (3, 1), (8, 3)])
def test_srresnet_other_scales(scale, stages):
    model = SRResNet(scale=scale, num_blocks=1, features=8)
    variables = model.init(jax.random.key(0), jnp.zeros((1, 6, 6, 3)))
    assert model.apply(variables, jnp.zeros((1, 6, 5, 3))).shape == (1, 6 * scale, 5 * scale, 3)
    assert sum(k.startswith("up") and k.endswith("conv") for k in variables["params"]) == stages


def test_discriminator_parameter_count():
    model = SRGANDiscriminator()
    variables = model.init(jax.random.key(0), jnp.zeros((1, 96, 96, 3)))
    n, cin, side = conv_params(3, 3, 64), 64, 96
    for features, stride in BLOCKS:
        n += conv_params(3, cin, features) + 2 * features
        cin, side = features, -(-side // stride)
    n += (side * side * cin) * 1024 + 1024 + 1024 + 1
    assert side == 6
    assert count(variables["params"]) == n == 23_565_505
    assert model.apply(variables, jnp.zeros((3, 96, 96, 3))).shape == (3,)


def test_pixel_shuffle_matches_pytorch():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4 * 6)).astype(np.float32)
    ours = np.asarray(pixel_shuffle(jnp.asarray(x), 2))
    ref = torch.nn.functional.pixel_shuffle(torch.from_numpy(x).permute(0, 3, 1, 2), 2)
    np.testing.assert_allclose(ours, ref.permute(0, 2, 3, 1).numpy(), rtol=0, atol=0)
