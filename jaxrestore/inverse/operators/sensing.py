"""Compressed-sensing operators of 003_* (Figure 2, Table 1): a Gaussian matrix and
subsampled 2-D Fourier measurements.

``GaussianCS``: ``y = A vec(x)`` with ``A_ij ~ N(0, 1/m)`` i.i.d. (Bora et al.'s CSGM and
003_* Sec. 5.1), ``m = round(ratio * n)`` for ``n = H*W*C``. A dense ``A`` at
``n = 3*128^2`` and ``m = n`` is 9.7 GB, so by default the matrix is never stored: it is
regenerated block by block (``block_rows`` rows per block, row ``i`` from
``fold_in(key, i)``, so the matrix does not depend on the block size) inside every
application of ``A`` and ``A^T``, trading compute for memory; ``dense=True`` stores it once
(the same matrix, bit for bit), which is faster where it fits. There is no closed-form
pseudo-inverse: ``pinv`` runs conjugate gradients on ``A A^T``, whose condition number
grows like ``((1 + sqrt(r)) / (1 - sqrt(r)))^2`` as the ratio ``r = m/n`` approaches 1
(Marchenko-Pastur), so CG needs more iterations near ``r = 1``, where float32 CG can stall
short of a small residual (``python -m jaxrestore.benchmark --solver=cg`` counts them).

``SubsampledFourier``: the orthonormal 2-D FFT of each channel, sampled on a binary mask;
the measurements are the real and imaginary parts of the sampled coefficients, shape
``(K, C, 2)`` for ``K`` sampled frequencies. The mask is conjugate-symmetric (frequency
``k`` is sampled iff ``-k`` is), so for real images ``A^T A`` is the orthogonal projection
``F^H P F`` and ``A^+ = A^T``: the zero-filled inverse FFT, which is also 003_*'s "naive"
reconstruction. :func:`fourier_mask` draws a seeded variable-density mask at the requested
ratio (sampled frequencies / pixels of one channel), dense at low frequencies, like 003_*'s
Figure 5.

(measured figures: docs/papers/003-iagan.md)
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import Operator


def check_ratio(ratio: float) -> float:
    ratio = float(ratio)
    if not 0.0 < ratio <= 1.0:
        raise ConfigError(f"the compression ratio m/n must be in (0, 1], got {ratio}; e.g. 0.1 keeps a "
                          "tenth as many measurements as pixels.")
    return ratio


class GaussianCS(Operator):
    """``A x = M vec(x)`` with ``M`` (m x n) i.i.d. ``N(0, 1/m)``, generated from ``key``.
    Build with :meth:`create`. ``matrix`` is the stored ``M`` when ``dense``, else None."""

    key: jax.Array
    matrix: jax.Array | None
    shape: tuple[int, int, int] = struct.field(pytree_node=False)
    measurements: int = struct.field(pytree_node=False)
    block_rows: int = struct.field(pytree_node=False, default=1024)

    @classmethod
    def create(cls, key, shape, ratio: float, *, block_rows: int = 1024, dense: bool = False) -> "GaussianCS":
        shape = tuple(int(s) for s in shape)
        n = math.prod(shape)
        m = max(1, int(round(check_ratio(ratio) * n)))
        if int(block_rows) < 1:
            raise ConfigError(f"block_rows must be at least 1, got {block_rows}.")
        op = cls(key=key, matrix=None, shape=shape, measurements=m, block_rows=min(int(block_rows), m))
        if dense:
            op = op.replace(matrix=op.dense_matrix())
        return op

    @property
    def input_shape(self):
        return self.shape

    @property
    def output_shape(self):
        return (self.measurements,)

    @property
    def ratio(self) -> float:
        return self.measurements / math.prod(self.shape)

    @property
    def _blocks(self) -> int:
        return -(-self.measurements // self.block_rows)

    def _block(self, b, dtype=jnp.float32):
        """Rows ``b*block_rows ...`` of ``M``; row ``i`` is drawn from ``fold_in(key, i)``, so
        ``M`` does not depend on ``block_rows`` (rows past ``m`` are cut by the callers)."""
        n = math.prod(self.shape)
        scale = 1.0 / math.sqrt(self.measurements)
        rows = b * self.block_rows + jnp.arange(self.block_rows)
        draw = lambda i: jax.random.normal(jax.random.fold_in(self.key, i), (n,), jnp.float32)  # noqa: E731
        return (jax.vmap(draw)(rows) * scale).astype(dtype)  # drawn in float32 whatever the dtype

    def dense_matrix(self):
        """``M`` itself (m x n): the blocks stacked, the last one cut to ``m`` rows."""
        blocks = jax.lax.map(self._block, jnp.arange(self._blocks))
        return blocks.reshape(-1, blocks.shape[-1])[:self.measurements]

    def _apply(self, x):
        lead = x.shape[:x.ndim - 3]
        flat = x.reshape((-1, math.prod(self.shape)))
        if self.matrix is not None:
            y = jnp.einsum("mn,bn->bm", self.matrix.astype(x.dtype), flat, precision="highest")
        else:
            rows = jax.lax.map(lambda b: jnp.einsum("mn,bn->bm", self._block(b, x.dtype), flat,
                                                    precision="highest"), jnp.arange(self._blocks))
            y = jnp.moveaxis(rows, 0, 1).reshape(flat.shape[0], -1)[:, :self.measurements]
        return y.reshape(lead + (self.measurements,))

    def _adjoint(self, y):
        lead = y.shape[:y.ndim - 1]
        flat = y.reshape((-1, self.measurements))
        if self.matrix is not None:
            x = jnp.einsum("mn,bm->bn", self.matrix.astype(y.dtype), flat, precision="highest")
        else:
            padded = jnp.pad(flat, ((0, 0), (0, self._blocks * self.block_rows - self.measurements)))
            padded = jnp.moveaxis(padded.reshape(flat.shape[0], self._blocks, self.block_rows), 1, 0)

            def accumulate(total, item):
                b, rows = item
                return total + jnp.einsum("mn,bm->bn", self._block(b, y.dtype), rows, precision="highest"), None

            start = jnp.zeros((flat.shape[0], math.prod(self.shape)), y.dtype)
            x, _ = jax.lax.scan(accumulate, start, (jnp.arange(self._blocks), padded))
        return x.reshape(lead + self.shape)


def fourier_mask(height: int, width: int, ratio: float, *, seed: int = 0, decay: float = 1.0) -> np.ndarray:
    """A seeded, conjugate-symmetric, variable-density HxW sampling mask (bool, FFT order:
    frequency (0, 0) at index [0, 0]) sampling ``round(ratio * H * W)`` frequencies, or one
    more where a conjugate pair would overshoot. Frequencies are drawn without replacement
    with probability ``(1 - r)^decay`` (``r`` the radius over the largest radius), by
    Gumbel-top-k over conjugate pairs, and DC always; a pair counts twice, a self-conjugate
    frequency (DC, Nyquist) once. ``decay`` 1 (the default) puts the zero-filled IFFT of
    64x64 CelebA faces with noise 10/255 near 003_*'s naive column (19.23 / 20.53 dB at
    128x128 for ratios 0.3 / 0.5); a larger decay, e.g. 3, concentrates the samples at low
    frequencies and raises it well above that (measured: docs/papers/003-iagan.md)."""
    ratio = check_ratio(ratio)
    target = max(1, int(round(ratio * height * width)))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.sqrt(fy ** 2 + fx ** 2)
    density = np.maximum(1.0 - radius / radius.max(), 1e-6) ** decay
    # One representative per conjugate pair {k, -k}: the smaller flat index of the two.
    index = np.arange(height * width).reshape(height, width)
    partner = index[(-np.arange(height)) % height][:, (-np.arange(width)) % width]
    representative = index <= partner
    rng = np.random.default_rng(seed)
    score = np.log(density) + rng.gumbel(size=(height, width))
    score[0, 0] = np.inf  # DC first
    order = [i for i in np.argsort(-score, axis=None, kind="stable") if representative.flat[i]]
    mask = np.zeros(height * width, bool)
    count = 0
    for i in order:
        if count >= target:
            break
        mask[i] = mask[partner.flat[i]] = True
        count += 1 if partner.flat[i] == i else 2
    return mask.reshape(height, width)


class SubsampledFourier(Operator):
    """Real and imaginary parts of the orthonormal 2-D FFT of each channel at the sampled
    frequencies of ``mask`` (static): HxWxC to (K, C, 2). Build with :meth:`create`."""

    shape: tuple[int, int, int] = struct.field(pytree_node=False)
    mask_bits: bytes = struct.field(pytree_node=False)  # np.packbits of the HxW bool mask

    @classmethod
    def create(cls, shape, mask) -> "SubsampledFourier":
        shape = tuple(int(s) for s in shape)
        mask = np.asarray(mask, bool)
        if mask.shape != shape[:2]:
            raise ConfigError(f"the Fourier mask is {mask.shape[0]}x{mask.shape[1]} but the images are "
                              f"{shape[0]}x{shape[1]}; draw the mask at the image size.")
        flipped = np.roll(mask[::-1, ::-1], (1, 1), axis=(0, 1))  # mask[-k]
        if not np.array_equal(mask, flipped):
            raise ConfigError("the Fourier mask is not conjugate-symmetric (frequency k sampled without -k), "
                              "so A^T would not be the pseudo-inverse; draw it with fourier_mask().")
        if not mask.any():
            raise ConfigError("the Fourier mask samples no frequency; use a ratio above 0.")
        return cls(shape=shape, mask_bits=np.packbits(mask.ravel()).tobytes())

    def mask(self) -> np.ndarray:
        h, w = self.shape[:2]
        return np.unpackbits(np.frombuffer(self.mask_bits, np.uint8), count=h * w).astype(bool).reshape(h, w)

    def _indices(self) -> np.ndarray:
        return np.flatnonzero(self.mask())

    @property
    def ratio(self) -> float:
        return float(self.mask().mean())

    @property
    def input_shape(self):
        return self.shape

    @property
    def output_shape(self):
        return (len(self._indices()), self.shape[2], 2)

    def _apply(self, x):
        h, w, c = self.shape
        coefficients = jnp.fft.fft2(x.astype(jnp.promote_types(x.dtype, jnp.complex64)), axes=(-3, -2), norm="ortho")
        sampled = coefficients.reshape(x.shape[:-3] + (h * w, c))[..., self._indices(), :]
        return jnp.stack([sampled.real, sampled.imag], axis=-1).astype(x.dtype)

    def _adjoint(self, y):
        h, w, c = self.shape
        lead = y.shape[:y.ndim - 3]
        full = jnp.zeros(lead + (h * w, c), jnp.promote_types(y.dtype, jnp.complex64))
        full = full.at[..., self._indices(), :].set(y[..., 0] + 1j * y[..., 1])
        image = jnp.fft.ifft2(full.reshape(lead + (h, w, c)), axes=(-3, -2), norm="ortho")
        return image.real.astype(y.dtype)

    def _pinv_closed_form(self, y):
        return self._adjoint(y)
