"""The DCGAN of 002_*'s released code: parameter counts, shapes, and the transposed
convolution against TensorFlow's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.models.dcgan import ConvTranspose2x, DCGANDiscriminator, DCGANGenerator
from test_models import conv_params, count


def test_generator_has_the_released_layout_and_5135363_parameters():
    g = DCGANGenerator()
    variables = g.init(jax.random.key(0), jnp.zeros((2, 100)))
    # Independently: linear 100 -> 4*4*512, BN(512), deconvs 512->256->128->64->3 with BN.
    expected = 100 * 8192 + 8192 + 2 * 512
    for cin, cout in ((512, 256), (256, 128), (128, 64), (64, 3)):
        expected += conv_params(5, cin, cout) + (2 * cout if cout != 3 else 0)
    assert count(variables["params"]) == expected == 5_135_363
    out = g.apply(variables, jax.random.uniform(jax.random.key(1), (2, 100), minval=-1, maxval=1))
    assert out.shape == (2, 64, 64, 3) and float(jnp.abs(out).max()) <= 1.0
    kernel = variables["params"]["deconv1"]["kernel"]
    assert abs(float(kernel.std()) - 0.02) < 0.001 and float(jnp.abs(variables["params"]["deconv1"]["bias"]).max()) == 0


def test_discriminator_has_the_released_layout_and_4316545_parameters():
    d = DCGANDiscriminator()
    variables = d.init(jax.random.key(0), jnp.zeros((2, 64, 64, 3)))
    expected = conv_params(5, 3, 64) + conv_params(5, 64, 128) + conv_params(5, 128, 256) + conv_params(5, 256, 512)
    expected += 2 * (128 + 256 + 512) + 4 * 4 * 512 + 1
    assert count(variables["params"]) == expected == 4_316_545
    assert "bn0" not in variables["params"]  # no BN after the first convolution
    assert d.apply(variables, jnp.zeros((3, 64, 64, 3))).shape == (3,)


@pytest.mark.parametrize("size,cin,cout,k", [(4, 8, 5, 5), (7, 3, 2, 5), (5, 3, 4, 4), (6, 2, 3, 3)])
def test_transposed_convolution_equals_tensorflow_conv2d_transpose(size, cin, cout, k):
    """Computed per output phase (four stride-1 convolutions): equal to TensorFlow's transposed
    convolution for odd and even kernels."""
    import tensorflow as tf

    rng = np.random.default_rng(size)
    x = rng.normal(size=(2, size, size, cin)).astype(np.float32)
    module = ConvTranspose2x(cout, kernel_size=k)
    params = module.init(jax.random.key(0), jnp.asarray(x))["params"]
    kernel = rng.normal(size=(k, k, cin, cout)).astype(np.float32)
    bias = rng.normal(size=(cout,)).astype(np.float32)
    got = module.apply({"params": {"kernel": jnp.asarray(kernel), "bias": jnp.asarray(bias)}}, jnp.asarray(x))
    assert params["kernel"].shape == kernel.shape
    # TensorFlow's filter is [height, width, output channels, input channels].
    expected = tf.nn.conv2d_transpose(x, np.transpose(kernel, (0, 1, 3, 2)), (2, 2 * size, 2 * size, cout),
                                      strides=2, padding="SAME").numpy() + bias
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-4)
