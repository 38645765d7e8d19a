"""VGG19 module layout and load_vgg19_params' refusal to run silently without weights.

Agreement with PyTorch's VGG19 on the same weights is tested in test_convert.py.
"""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.models.vgg import LAYER_NAMES, TORCHVISION_CONV_INDEX, VGG19
from jaxrestore.weights import load_vgg19_params
from jaxrestore.weights.vgg19 import random_vgg19_params


def test_layer_names_and_torchvision_indices():
    assert TORCHVISION_CONV_INDEX == {
        "conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7,
        "conv3_1": 10, "conv3_2": 12, "conv3_3": 14, "conv3_4": 16,
        "conv4_1": 19, "conv4_2": 21, "conv4_3": 23, "conv4_4": 25,
        "conv5_1": 28, "conv5_2": 30, "conv5_3": 32, "conv5_4": 34,
    }
    # 16 convs + 16 ReLUs + 5 pools, in torchvision's order.
    assert len(LAYER_NAMES) == 37
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-3:] == ("conv5_4", "relu5_4", "pool5")


def test_computes_only_up_to_the_deepest_requested_layer():
    x = jnp.zeros((1, 32, 32, 3))
    variables = jax.eval_shape(lambda: VGG19().init(jax.random.PRNGKey(0), x, layers=("relu2_1",)))
    assert sorted(variables["params"]) == ["conv1_1", "conv1_2", "conv2_1"]
    assert variables["params"]["conv2_1"]["kernel"].shape == (3, 3, 64, 128)


def test_feature_shapes_and_relu_of_conv():
    x = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 32, 32, 3)), jnp.float32)
    model = VGG19()
    params = random_vgg19_params(jax.random.PRNGKey(1))
    out = model.apply({"params": params}, x, layers=("conv2_2", "relu2_2", "pool1", "pool2", "conv3_1"))
    assert set(out) == {"conv2_2", "relu2_2", "pool1", "pool2", "conv3_1"}
    assert out["pool1"].shape == (2, 16, 16, 64)
    assert out["conv2_2"].shape == (2, 16, 16, 128)
    assert out["pool2"].shape == (2, 8, 8, 128)
    assert out["conv3_1"].shape == (2, 8, 8, 256)
    np.testing.assert_array_equal(out["relu2_2"], np.maximum(out["conv2_2"], 0))
    assert (np.asarray(out["conv2_2"]) < 0).any()  # so relu != conv: names are not swapped
    pooled = np.asarray(out["relu2_2"]).reshape(2, 8, 2, 8, 2, 128).max(axis=(2, 4))
    np.testing.assert_array_equal(out["pool2"], pooled)


def test_imagenet_normalisation_inside():
    """conv1_1 of an image equals a conv of the mean/std-normalised image (no ReLU)."""
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(1, 8, 8, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3, 64)).astype(np.float32)
    bias = rng.normal(size=(64,)).astype(np.float32)
    out = VGG19().apply({"params": {"conv1_1": {"kernel": kernel, "bias": bias}}}, x, layers=("conv1_1",))
    normalised = (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    padded = np.pad(normalised, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((1, 8, 8, 64))
    for dy in range(3):
        for dx in range(3):
            expected += padded[:, dy:dy + 8, dx:dx + 8, :] @ kernel[dy, dx]
    expected += bias
    np.testing.assert_allclose(out["conv1_1"], expected, rtol=1e-5, atol=1e-4)


def test_bad_layer_and_bad_input():
    x = jnp.zeros((1, 32, 32, 3))
    with pytest.raises(ConfigError, match="Unknown VGG19 layer 'relu5_5'"):
        VGG19().init(jax.random.PRNGKey(0), x, layers=("relu5_5",))
    with pytest.raises(DataError, match="NHWC RGB"):
        VGG19().init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 1)), layers=("conv1_1",))


def test_no_weights_and_no_explicit_random_init_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        load_vgg19_params("")
    message = str(err.value)
    assert "\n" not in message
    assert "--config.loss.vgg_weights=PATH" in message
    assert "vgg19-dcbb9e9d.pth" in message and "python -m jaxrestore.convert vgg19" in message
    assert "--config.loss.vgg_random_init=True" in message


def test_explicit_random_init_warns_and_is_deterministic(caplog):
    with caplog.at_level(logging.WARNING, logger="jaxrestore.weights.vgg19"):
        params = load_vgg19_params("", allow_random=True, key=jax.random.PRNGKey(3))
    assert any("randomly initialised" in r.getMessage() for r in caplog.records)
    # Exactly the tree the module creates (init requesting the last layer).
    x = jnp.zeros((1, 32, 32, 3))
    shapes = jax.eval_shape(lambda: VGG19().init(jax.random.PRNGKey(0), x, layers=("pool5",)))["params"]
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(shapes)
    for got, want in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(shapes)):
        assert got.shape == want.shape and got.dtype == want.dtype
    # He-normal: std sqrt(2 / fan_in) (conv3_2: fan_in 3*3*256).
    assert abs(float(np.std(params["conv3_2"]["kernel"])) - np.sqrt(2 / 2304)) < 1e-3
    again = load_vgg19_params("", allow_random=True, key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(params["conv3_2"]["kernel"], again["conv3_2"]["kernel"])
    other = load_vgg19_params("", allow_random=True, key=jax.random.PRNGKey(4))
    assert not np.array_equal(params["conv3_2"]["kernel"], other["conv3_2"]["kernel"])
