"""jaxrestore: GAN-based image restoration in JAX/Flax.

Images are NHWC (or HWC) float32 in [0, 1] at every public boundary unless a
function says otherwise; uint8 and [-1, 1] conversions happen at the edge that
needs them.
"""

__version__ = "0.1.0"
