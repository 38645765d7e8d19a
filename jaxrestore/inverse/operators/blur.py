"""Blur operators (003_* Table 4: a 9x9 uniform filter).

``Blur`` convolves each channel with a centred kernel under **circular** (periodic)
boundary conditions: the blurred image keeps the image's size (Table 4's "Blurred"
column), ``A`` is a circulant matrix diagonalised by the 2-D FFT, so ``A``, ``A^T`` and
the pseudo-inverse are exact in the Fourier domain (``A^+`` inverts every frequency whose
gain exceeds ``rcond`` times the largest and zeroes the rest, like ``numpy.linalg.pinv``).
A 9x9 box has no exactly-zero gain on 64x64 or 128x128 images (its transfer function
vanishes only where ``9 k / N`` is a non-zero integer), but many small ones: the
pseudo-inverse amplifies noise strongly, as back-projection with noise does. The
reference code 003_* used is not public for this task; zero or reflective padding would
make the border rows of ``A`` different, not the interior.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import Operator


def uniform_kernel(size: int = 9) -> np.ndarray:
    if int(size) != size or size < 1:
        raise ConfigError(f"the blur kernel size must be a positive integer, got {size}.")
    return np.full((int(size), int(size)), 1.0 / size ** 2)


class Blur(Operator):
    """Circular convolution of each channel with a static odd-sized kernel centred on the
    pixel; HxWxC to HxWxC. Build with :meth:`create`."""

    shape: tuple[int, int, int] = struct.field(pytree_node=False)
    kernel: tuple = struct.field(pytree_node=False)  # nested tuples (hashable, static)
    rcond: float = struct.field(pytree_node=False, default=1e-6)

    @classmethod
    def create(cls, shape, kernel, *, rcond: float = 1e-6) -> "Blur":
        shape = tuple(int(s) for s in shape)
        kernel = np.asarray(kernel, np.float64)
        if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ConfigError(f"a blur kernel must be 2-D with odd sides, got shape {kernel.shape}.")
        if kernel.shape[0] > shape[0] or kernel.shape[1] > shape[1]:
            raise ConfigError(f"the {kernel.shape[0]}x{kernel.shape[1]} kernel is larger than the "
                              f"{shape[0]}x{shape[1]} images.")
        return cls(shape=shape, kernel=tuple(tuple(float(v) for v in row) for row in kernel), rcond=float(rcond))

    def transfer(self) -> np.ndarray:
        """The kernel's HxW 2-D DFT (float64 complex): ``A``'s eigenvalues."""
        h, w = self.shape[:2]
        kernel = np.asarray(self.kernel)
        kh, kw = kernel.shape
        padded = np.zeros((h, w))
        padded[:kh, :kw] = kernel
        padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))  # centre tap at [0, 0]
        return np.fft.fft2(padded)

    def _filter(self, x, gains):
        dtype = jnp.promote_types(x.dtype, jnp.complex64)
        spectrum = jnp.fft.fft2(x.astype(dtype), axes=(-3, -2))
        out = jnp.fft.ifft2(spectrum * jnp.asarray(gains, dtype)[:, :, None], axes=(-3, -2))
        return out.real.astype(x.dtype)

    def _apply(self, x):
        return self._filter(x, self.transfer())

    def _adjoint(self, y):
        return self._filter(y, np.conj(self.transfer()))

    def _pinv_closed_form(self, y):
        gains = self.transfer()
        keep = np.abs(gains) > self.rcond * np.abs(gains).max()
        inverse = np.where(keep, np.conj(gains) / np.where(keep, np.abs(gains) ** 2, 1.0), 0.0)
        return self._filter(y, inverse)


def uniform_blur(shape, size: int = 9) -> Blur:
    """003_*'s deblurring operator: a ``size`` x ``size`` box (mean) filter, circular."""
    return Blur.create(shape, uniform_kernel(size))
