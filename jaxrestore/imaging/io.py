"""Reading and writing image files.

Every image enters the project through :func:`read_image`, which applies one
documented rule to the many kinds of files people have:

* 8-bit RGB: returned as is.
* Grey (``L``, ``1``, ``I``, ``I;16`` ...): replicated to three channels in
  ``mode="rgb"``; returned as one channel in ``mode="native"`` (the SR
  evaluation scores grey images on their own channel).
* 16-bit (``I;16`` grey or 48-bit RGB PNG): scaled to 8 bits as
  ``round(v / 257)``, which maps 0 -> 0 and 65535 -> 255 exactly.
* Alpha (``RGBA``, ``LA``, ``PA``): the alpha channel is dropped (the colour
  values are kept as stored, not composited onto a background).
* Palette (``P``), ``CMYK``, ``YCbCr`` and other modes: converted by Pillow to RGB.

Folders: :func:`list_images` takes files whose suffix is a known image suffix
(case-insensitive) and skips everything else with one warning that gives the
count, so a stray ``README`` or ``.DS_Store`` does not stop a run. A file with
an image suffix that cannot be decoded is an error naming the file, raised when
it is read.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from jaxrestore.errors import DataError
from jaxrestore.runtime.atomic import atomic_open

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

_GREY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Sorted image files directly inside ``folder`` (not recursive)."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder {str(folder)!r} does not exist; check the path.")
    if not folder.is_dir():
        raise DataError(f"{str(folder)!r} is not a folder; pass a folder of images.")
    images, skipped = [], 0
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(path)
        elif path.is_file():
            skipped += 1
    if skipped:
        logging.warning(
            "%s: skipped %d file(s) that are not images (suffixes read: %s).",
            folder, skipped, " ".join(IMAGE_SUFFIXES))
    if not images:
        raise DataError(
            f"image folder {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
            "point to a folder that contains them.")
    return images


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        # Pillow mode F: assume [0, 1] if it fits, else [0, 255].
        scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.round(array * scale), 0, 255).astype(np.uint8)
    # 16-bit (or wider) integers.
    return np.clip(np.round(array.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def read_image(path: str | os.PathLike, *, mode: str = "rgb") -> np.ndarray:
    """Reads an image file as uint8 HxWxC (C=3, or C=1 for grey in ``mode="native"``)."""
    if mode not in ("rgb", "native"):
        raise ValueError(f"mode must be 'rgb' or 'native', got {mode!r}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file {str(path)!r} does not exist; check the path.")
    try:
        with Image.open(path) as img:
            img.load()
            pil_mode = img.mode
            if pil_mode in _GREY_MODES:
                array = _to_uint8(np.asarray(img))[..., None]
            elif pil_mode in ("LA", "La"):
                array = _to_uint8(np.asarray(img.getchannel("L")))[..., None]
            elif pil_mode == "RGB":
                array = np.asarray(img)
            elif pil_mode in ("RGBA", "RGBa", "RGBX"):
                array = np.asarray(img)[..., :3]
            else:  # P, PA, CMYK, YCbCr, LAB, HSV ...
                array = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(
            f"cannot decode image {str(path)!r} ({err}); remove it or replace it "
            "with a PNG/JPEG/BMP file.") from None
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if mode == "rgb" and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes uint8 or float-in-[0,1] HxW(xC) image atomically (temp file, then rename)."""
    path = Path(path)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.round(np.asarray(array, np.float64) * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"cannot tell the image format of {str(path)!r}; use a .png or .jpg name.")
    with atomic_open(path, "wb") as f:
        Image.fromarray(array).save(f, format=fmt)
