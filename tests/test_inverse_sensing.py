"""003_*'s operators against independent computations: the Gaussian matrix (its blocks,
its statistics, CG pseudo-inverse), subsampled Fourier against NumPy's FFT and its mask,
the circular box blur against SciPy, bicubic upsampling against the NumPy imresize."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import imresize
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.operators.blur import Blur, uniform_blur, uniform_kernel
from jaxrestore.inverse.operators.sensing import GaussianCS, SubsampledFourier, fourier_mask


def test_gaussian_blocks_generate_the_stored_matrix_and_its_statistics():
    shape = (16, 16, 3)
    blocks = GaussianCS.create(jax.random.key(3), shape, 0.5, block_rows=100)
    dense = GaussianCS.create(jax.random.key(3), shape, 0.5, block_rows=7, dense=True)  # M is block-free
    assert blocks.measurements == dense.measurements == 384 and blocks.matrix is None
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2,) + shape), jnp.float32)
    matrix = np.asarray(dense.matrix, np.float64)
    expected = np.asarray(x, np.float64).reshape(2, -1) @ matrix.T
    np.testing.assert_allclose(np.asarray(blocks.A(x)), expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(dense.A(x)), expected, rtol=0, atol=1e-4)
    y = np.random.default_rng(1).normal(size=(2, 384))
    np.testing.assert_allclose(np.asarray(blocks.AT(jnp.asarray(y, jnp.float32))).reshape(2, -1),
                               y @ matrix, rtol=0, atol=1e-4)
    # A_ij ~ N(0, 1/m): 294,912 samples give the variance to about 0.3 %.
    m = dense.measurements
    assert abs(matrix.mean()) < 5 * np.sqrt(1 / m / matrix.size)
    assert abs(matrix.var() * m - 1.0) < 0.015
    # a different key, a different matrix
    other = GaussianCS.create(jax.random.key(4), shape, 0.5, dense=True)
    assert abs(np.corrcoef(np.asarray(other.matrix).ravel(), matrix.ravel())[0, 1]) < 0.01


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9])
def test_gaussian_cg_pseudo_inverse_against_numpy(ratio):
    with jax.enable_x64(True):
        op = GaussianCS.create(jax.random.key(5), (8, 8, 3), ratio, block_rows=64)
        matrix = np.asarray(op.dense_matrix(), np.float64)
        y = np.random.default_rng(2).normal(size=op.output_shape)
        x, residual = op.pinv_solve(jnp.asarray(y), tol=1e-12, maxiter=2000)
        np.testing.assert_allclose(np.asarray(x).ravel(), np.linalg.pinv(matrix) @ y, atol=1e-8)
        assert float(residual) < 1e-8


def test_ratio_outside_zero_one_is_refused():
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match=r"in \(0, 1\]"):
            GaussianCS.create(jax.random.key(0), (8, 8, 3), bad)
        with pytest.raises(ConfigError, match=r"in \(0, 1\]"):
            fourier_mask(8, 8, bad)


@pytest.mark.parametrize("size,ratio", [(64, 0.3), (64, 0.5), (128, 0.3), (128, 0.5), (64, 0.1)])
def test_fourier_mask_ratio_symmetry_and_density(size, ratio):
    mask = fourier_mask(size, size, ratio, seed=7, decay=3.0)
    assert abs(mask.mean() - ratio) <= 0.01 * ratio
    flipped = np.roll(mask[::-1, ::-1], (1, 1), axis=(0, 1))  # mask at -k
    np.testing.assert_array_equal(mask, flipped)
    assert mask[0, 0]
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    assert mask[radius < 0.1].mean() > 2 * mask[radius > 0.3].mean()  # variable density
    np.testing.assert_array_equal(fourier_mask(size, size, ratio, seed=7, decay=3.0), mask)  # seeded
    assert not np.array_equal(fourier_mask(size, size, ratio, seed=8, decay=3.0), mask)
    flatter = fourier_mask(size, size, ratio, seed=7)  # the default decay 1
    assert abs(flatter.mean() - ratio) <= 0.01 * ratio
    assert mask[radius < 0.1].mean() >= flatter[radius < 0.1].mean()
    assert flatter[radius < 0.1].mean() > flatter[radius > 0.3].mean()


def test_fourier_operator_against_numpy_fft_and_its_pseudo_inverse():
    shape = (32, 32, 3)
    mask = fourier_mask(32, 32, 0.3, seed=1)
    op = SubsampledFourier.create(shape, mask)
    x = np.random.default_rng(3).uniform(size=(2,) + shape)
    coefficients = np.fft.fft2(x, axes=(1, 2), norm="ortho")[:, mask, :]  # (2, K, C)
    y = np.asarray(op.A(jnp.asarray(x, jnp.float32)))
    assert y.shape == (2, int(mask.sum()), 3, 2)
    np.testing.assert_allclose(y[..., 0], coefficients.real, atol=2e-6)
    np.testing.assert_allclose(y[..., 1], coefficients.imag, atol=2e-6)
    # A^+ = A^T: the zero-filled inverse FFT (003_*'s naive reconstruction)
    filled = np.zeros((2, 32, 32, 3), complex)
    filled[:, mask, :] = coefficients
    naive = np.fft.ifft2(filled, axes=(1, 2), norm="ortho")
    assert np.abs(naive.imag).max() < 1e-12  # conjugate symmetry makes it real
    np.testing.assert_allclose(np.asarray(op.pinv(jnp.asarray(y))), naive.real, atol=2e-6)
    assert abs(op.ratio - 0.3) <= 0.003


def test_a_mask_that_is_not_conjugate_symmetric_is_refused():
    mask = np.zeros((16, 16), bool)
    mask[0, 0] = mask[1, 2] = True
    with pytest.raises(ConfigError, match="conjugate-symmetric"):
        SubsampledFourier.create((16, 16, 3), mask)
    with pytest.raises(ConfigError, match="16x16 but the images are 32x32"):
        SubsampledFourier.create((32, 32, 3), fourier_mask(16, 16, 0.3))


def test_uniform_blur_equals_scipy_wrap_filter_and_numpy_pinv():
    from scipy import ndimage

    x = np.random.default_rng(4).uniform(size=(64, 64, 3))
    expected = ndimage.uniform_filter(x, size=(9, 9, 1), mode="wrap")
    np.testing.assert_allclose(np.asarray(uniform_blur(x.shape, 9).A(jnp.asarray(x, jnp.float32))),
                               expected, atol=2e-6)
    with jax.enable_x64(True):
        small = Blur.create((12, 12, 1), uniform_kernel(5))
        dense = np.stack([np.asarray(small.A(jnp.asarray(e.reshape(12, 12, 1)))).ravel() for e in np.eye(144)], 1)
        y = np.random.default_rng(5).normal(size=(12, 12, 1))
        np.testing.assert_allclose(np.asarray(small.pinv(jnp.asarray(y))).ravel(), np.linalg.pinv(dense) @ y.ravel(),
                                   atol=1e-9)
    with pytest.raises(ConfigError, match="odd sides"):
        Blur.create((16, 16, 3), np.ones((4, 4)) / 16)


def test_bicubic_upsample_equals_numpy_imresize_and_is_not_the_pseudo_inverse():
    with jax.enable_x64(True):
        lr = np.random.default_rng(6).uniform(size=(16, 16, 3))
        up = ops.bicubic_upsample(lr.shape, 4)
        np.testing.assert_allclose(np.asarray(up.A(jnp.asarray(lr))), imresize(lr, 4.0), atol=1e-12)
        down = ops.bicubic_downsample((64, 64, 3), 4)
        x = jnp.asarray(np.random.default_rng(7).uniform(size=(64, 64, 3)))
        ax = down.A(x)
        approx = down.A(up.A(ax))  # A U A x
        exact = down.A(down.pinv(ax))  # A A^+ A x
        assert float(jnp.abs(exact - ax).max()) < 1e-10
        assert float(jnp.abs(approx - ax).max()) > 1e-3
