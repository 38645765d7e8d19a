"""The JPEG degradation of the artifact-removal task: a pinned encoder on the luma channel.

Definition used everywhere in this package (training data, ``evaluate --task=jpeg``,
the ``restore`` command): the image is the rounded uint8 Y channel of MATLAB's
``rgb2ycbcr`` (a grey image is its own channel), encoded as a one-component
(greyscale) baseline JPEG by Pillow's libjpeg at quality ``q`` with the standard
IJG quantisation table scaled for ``q`` (``jpeg_quality_table``), and decoded by
the same library. A greyscale JPEG has no chroma, so chroma subsampling does not
arise; where a colour JPEG is written (``jpeg_compress`` on RGB), Pillow's
default 4:2:0 subsampling is used and stated.

000_* used MATLAB's ``imwrite(..., 'Quality', q)``, which is also the IJG library
with the same scaled standard tables, so the quantised coefficients agree; the
decoders' inverse DCT may differ by a grey level on some pixels. 000_* does not say
which channel it compressed and scored; the luma is this project's choice
(configs/argan.py). A second implementation, TensorFlow's ``tf.io.encode_jpeg`` /
``decode_jpeg`` (its own libjpeg-turbo build, accurate integer IDCT), gives the same
pixels on the Set5/Set14 lumas at Q10 and Q20 (tested); its fast integer IDCT moves
some pixels by one grey level, the spread one decoder setting makes. Pillow's bundled
libjpeg (libjpeg-turbo in the wheels) uses the accurate integer DCT by default.

(measured figures: docs/papers/000-constrained.md)
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from jaxrestore.errors import ConfigError, DataError

# ITU-T T.81 Annex K.1, the luminance table, in natural (row-major) order.
STANDARD_LUMINANCE_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int64).reshape(8, 8)


def check_quality(quality) -> int:
    """``quality`` as an int in 1..100, or a ConfigError that says so."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer, float)) \
            or int(quality) != quality or not 1 <= int(quality) <= 100:
        raise ConfigError(f"the JPEG quality factor must be an integer from 1 to 100, got {quality!r}; "
                          "000_* uses 10 and 20.")
    return int(quality)


def jpeg_quality_table(quality: int, base: np.ndarray = STANDARD_LUMINANCE_TABLE) -> np.ndarray:
    """The IJG scaling of a standard table for ``quality`` (libjpeg's ``jpeg_quality_scaling``)."""
    quality = check_quality(quality)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """The JPEG file bytes of a uint8 HxW / HxWx1 (greyscale) or HxWx3 (4:2:0) image."""
    quality = check_quality(quality)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"JPEG encodes uint8 images, got {image.dtype}; convert with to_uint8 first.")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        pil = Image.fromarray(np.ascontiguousarray(image), mode="L")
    elif image.ndim == 3 and image.shape[-1] == 3:
        pil = Image.fromarray(np.ascontiguousarray(image), mode="RGB")
    else:
        raise DataError(f"expected an HxW, HxWx1 or HxWx3 image to JPEG-compress, got shape {image.shape}.")
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=quality, subsampling="4:2:0", optimize=False)
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """uint8 HxW (greyscale) or HxWx3 pixels of JPEG bytes."""
    with Image.open(io.BytesIO(data)) as pil:
        return np.asarray(pil)


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Encodes and decodes ``image`` at ``quality``; returns uint8 with the input's shape."""
    image = np.asarray(image)
    decoded = decode_jpeg(encode_jpeg(image, quality))
    return decoded.reshape(image.shape)
