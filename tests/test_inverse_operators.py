"""Forward operators: adjoints, pseudo-inverses, and each operator against an independent
implementation (NumPy MATLAB imresize, TensorFlow's bilinear resize and greyscale, SciPy's
convolution for Yeh et al.'s weighted mask)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import imresize
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.operators.blur import uniform_blur
from jaxrestore.inverse.operators.sensing import GaussianCS, SubsampledFourier, fourier_mask

SHAPE = (64, 64, 3)


def _mask(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=SHAPE[:2]) > 0.4).astype(np.float32)


LINEAR = {
    "identity": lambda: ops.Identity(shape=SHAPE),
    "binary mask": lambda: ops.Mask.create(_mask()),
    "centre hole": lambda: ops.Mask.create(ops.centre_hole_mask(64, 64, 32)),
    "weighted mask": lambda: ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(64, 64, 32), 15)),
    "greyscale": lambda: ops.Greyscale(height=64, width=64),
    "bicubic x4": lambda: ops.bicubic_downsample(SHAPE, 4),
    "bilinear down-up x4": lambda: ops.bilinear_down_up(SHAPE, 4),
    "bicubic up x4": lambda: ops.bicubic_upsample((16, 16, 3), 4),
    "gaussian cs 0.3 dense": lambda: GaussianCS.create(jax.random.key(0), (16, 16, 3), 0.3, dense=True),
    "gaussian cs 0.3 blocks": lambda: GaussianCS.create(jax.random.key(0), (16, 16, 3), 0.3, block_rows=100),
    "fourier 0.3": lambda: SubsampledFourier.create(SHAPE, fourier_mask(64, 64, 0.3, seed=1)),
    "uniform blur 9x9": lambda: uniform_blur(SHAPE, 9),
}
CLOSED_FORM = sorted(set(LINEAR) - {"gaussian cs 0.3 dense", "gaussian cs 0.3 blocks"})


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_adjoint_is_the_adjoint_in_float64(name):
    with jax.enable_x64(True):
        op = LINEAR[name]()
        rng = np.random.default_rng(1)
        x = jnp.asarray(rng.normal(size=(2,) + op.input_shape))
        y = jnp.asarray(rng.normal(size=(2,) + op.output_shape))
        ax, aty = op.A(x), op.AT(y)
        assert ax.dtype == jnp.float64 and ax.shape == (2,) + op.output_shape
        lhs, rhs = float(jnp.vdot(ax, y)), float(jnp.vdot(x, aty))
        assert abs(lhs - rhs) <= 1e-10 * (float(jnp.linalg.norm(ax)) * float(jnp.linalg.norm(y)))
        # The default adjoint (jax.linear_transpose of A) equals the written-out one.
        generic = ops.Operator._adjoint(op, y)
        np.testing.assert_allclose(np.asarray(generic), np.asarray(aty), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_pinv_satisfies_a_pinv_a_equals_a(name):
    with jax.enable_x64(True):
        op = LINEAR[name]()
        x = jnp.asarray(np.random.default_rng(2).normal(size=op.input_shape))
        ax = op.A(x)
        xp, residual = op.pinv_solve(ax)
        np.testing.assert_allclose(np.asarray(op.A(xp)), np.asarray(ax), atol=1e-9 * float(jnp.abs(ax).max()))
        assert float(residual) < 1e-9
        # A^+ y is the minimum-norm solution: it lies in the range of A^T, so A^+ A A^+ = A^+.
        np.testing.assert_allclose(np.asarray(op.pinv(op.A(xp))), np.asarray(xp), atol=1e-9 * float(jnp.abs(xp).max()))


def test_conjugate_gradient_pinv_equals_the_kronecker_closed_form():
    with jax.enable_x64(True):
        op = ops.bicubic_downsample(SHAPE, 4)
        y = jnp.asarray(np.random.default_rng(3).normal(size=op.output_shape))
        closed = op.pinv(y)
        cg = ops.Operator._pinv_cg(op, y, tol=1e-12, maxiter=1000)
        np.testing.assert_allclose(np.asarray(cg), np.asarray(closed), atol=1e-8)
        # and a closed form for a 16x16 case checked against NumPy's dense pseudo-inverse
        small = ops.bicubic_downsample((16, 16, 1), 4)
        dense = np.stack([np.asarray(small.A(jnp.asarray(e.reshape(16, 16, 1)))).ravel()
                          for e in np.eye(256)], axis=1)
        yy = np.random.default_rng(4).normal(size=(4, 4, 1))
        np.testing.assert_allclose(np.asarray(small.pinv(jnp.asarray(yy))).ravel(),
                                   np.linalg.pinv(dense) @ yy.ravel(), atol=1e-10)


def test_bicubic_operator_equals_the_numpy_matlab_imresize():
    with jax.enable_x64(True):
        x = np.random.default_rng(5).uniform(size=SHAPE)
        op = ops.bicubic_downsample(SHAPE, 4)
        np.testing.assert_allclose(np.asarray(op.A(jnp.asarray(x))), imresize(x, 0.25), rtol=0, atol=1e-12)
        assert op.output_shape == (16, 16, 3)
    # float32, jitted, as the solvers use it
    x32 = jnp.asarray(x, jnp.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(op.A)(x32)), imresize(x, 0.25), atol=2e-6)


def test_bilinear_down_up_equals_tensorflow_resize_bilinear_align_corners():
    import tensorflow as tf

    x = np.random.default_rng(6).uniform(size=(2,) + SHAPE).astype(np.float32)
    down = tf.compat.v1.image.resize_bilinear(x, [16, 16], align_corners=True)
    expected = tf.compat.v1.image.resize_bilinear(down, [64, 64], align_corners=True).numpy()
    got = np.asarray(jax.jit(ops.bilinear_down_up(SHAPE, 4).A)(jnp.asarray(x)))
    # TensorFlow computes source positions i * (in - 1) / (out - 1) in float32 (an error of up
    # to ~63 * 6e-8 in a position, hence in a weight); our weights are float64.
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert float(np.abs(got - expected).mean()) < 1e-6


def test_greyscale_equals_tensorflow_rgb_to_grayscale():
    import tensorflow as tf

    x = np.random.default_rng(7).uniform(size=(2,) + SHAPE).astype(np.float32)
    expected = tf.image.rgb_to_grayscale(x).numpy()
    got = np.asarray(ops.Greyscale(height=64, width=64).A(jnp.asarray(x)))
    assert got.shape == (2, 64, 64, 1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_weighted_mask_equals_a_scipy_box_convolution():
    from scipy.signal import convolve2d

    for mask in (ops.centre_hole_mask(64, 64, 32), _mask(8)):
        kernel = np.ones((15, 15)) / 225.0
        expected = mask * convolve2d(1.0 - mask, kernel, mode="same", boundary="symm")
        np.testing.assert_allclose(ops.weighted_mask(mask, 15), expected, atol=1e-6)
    hole = ops.centre_hole_mask(64, 64, 32)
    assert hole.sum() == 64 * 64 - 32 * 32 and hole[16:48, 16:48].sum() == 0
    w = ops.weighted_mask(hole, 15)
    assert w[0, 0] == 0 and w[16:48, 16:48].max() == 0 and w[15, 31] > 0  # far pixels count for nothing


def test_per_image_masks_vmap_with_their_images():
    masks = [ops.Mask.create(_mask(s)) for s in range(3)]
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *masks)
    x = jnp.asarray(np.random.default_rng(9).uniform(size=(3,) + SHAPE), jnp.float32)
    batched = jax.jit(jax.vmap(lambda op, image: op.A(image)))(stacked, x)
    for i, op in enumerate(masks):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(op.A(x[i])))


def test_hsv_value_is_the_channel_maximum_and_has_no_adjoint():
    x = jnp.asarray(np.random.default_rng(10).uniform(size=SHAPE), jnp.float32)
    op = ops.HSVValue(height=64, width=64)
    np.testing.assert_array_equal(np.asarray(op.A(x))[..., 0], np.asarray(x).max(-1))
    with pytest.raises(ConfigError, match="not linear"):
        op.AT(op.A(x))
    with pytest.raises(ConfigError, match="not linear"):
        op.pinv(op.A(x))


def test_wrong_shapes_and_masks_are_one_clear_error():
    op = ops.bicubic_downsample(SHAPE, 4)
    with pytest.raises(ConfigError, match="expects an image of shape 64x64x3 .* got 32x32x3"):
        op.A(jnp.zeros((32, 32, 3)))
    with pytest.raises(ConfigError, match="observation of shape 16x16x3 .* got 64x64x3"):
        op.AT(jnp.zeros((64, 64, 3)))
    with pytest.raises(ConfigError, match="hides every pixel"):
        ops.Mask.create(np.zeros((64, 64)))
    with pytest.raises(ConfigError, match="mask has shape 32x32x1 but the images are 64x64x3"):
        ops.Mask.create(np.ones((32, 32)), shape=SHAPE)
    with pytest.raises(ConfigError, match="factor"):
        ops.bicubic_downsample(SHAPE, 0)
