"""Restoring image files with a restorer, whole or in tiles (what ``python -m jaxrestore.restore`` does).

Inputs are image files or folders of them; each result is written as
``<output>/<input stem>.png`` (atomically). Large images are processed in tiles
(``tile`` LR pixels, 0 = whole image): the image is cut into a grid of cores,
each core is restored together with a margin of ``margin`` surrounding
pixels, and only the core's part of the output is kept. A convolutional network
sees the same neighbourhood for every kept pixel as it would on the whole image
as long as the margin covers its receptive field (about 40 LR pixels for the
16-block SRResNet; the default margin is 48), so the tiled output equals
whole-image inference up to float rounding and has no seams. Tile edges and
margins are kept at multiples of the generator's ``size_multiple`` (2 for ARGAN,
whose trunk runs at half resolution) so every tile sees the whole image's grid.

A one-channel (luma) restorer, as the JPEG artifact-removal task trains, restores the luma
of an RGB input: it is converted to MATLAB YCbCr, its rounded Y is restored, and the result is
recombined with the input's Cb and Cr; a grey input is restored directly.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jaxrestore.errors import DataError
from jaxrestore.imaging.color import rgb_to_y_uint8, rgb_to_ycbcr, ycbcr_to_rgb
from jaxrestore.imaging.io import IMAGE_SUFFIXES, list_images, read_image, write_image
from jaxrestore.imaging.resize import to_uint8

# Smaller tiles than this are refused: each is a separate call of the network.
MIN_TILE = 8


def tile_grid(length: int, tile: int, multiple: int = 1) -> list[tuple[int, int]]:
    """Splits [0, length) into near-equal cores of at most about ``tile`` pixels whose inner
    edges are multiples of ``multiple``."""
    count = max(1, math.ceil(length / tile))
    edges = (np.linspace(0, length, count + 1) / multiple).round().astype(int) * multiple
    edges[-1] = length
    edges = np.unique(edges)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def restore_tiled(apply, image: np.ndarray, *, scale: int, tile: int, margin: int,
                  multiple: int = 1) -> np.ndarray:
    """Restores an HxWxC float image in tiles; ``apply(x, offset)`` maps NHWC [0,1] floats whose
    top-left pixel is at ``offset`` = (row, column) of the whole image to restored ones."""
    h, w = image.shape[:2]
    if tile <= 0 or (h <= tile and w <= tile):
        return np.asarray(apply(image[None], (0, 0)))[0]
    margin = -(-margin // multiple) * multiple
    out = None
    for top, bottom in tile_grid(h, tile, multiple):
        for left, right in tile_grid(w, tile, multiple):
            t0, b0 = max(0, top - margin), min(h, bottom + margin)
            l0, r0 = max(0, left - margin), min(w, right + margin)
            restored = np.asarray(apply(image[None, t0:b0, l0:r0], (t0, l0)))[0]
            if out is None:
                out = np.zeros((h * scale, w * scale, restored.shape[-1]), np.float32)
            out[top * scale:bottom * scale, left * scale:right * scale] = restored[
                (top - t0) * scale:(bottom - t0) * scale, (left - l0) * scale:(right - l0) * scale]
    return out


def collect_inputs(inputs: Sequence[str]) -> list[Path]:
    """Image files named directly or found in named folders; a clear error for anything else."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths.extend(list_images(path))
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise DataError(f"{item!r} is not an image file ({', '.join(IMAGE_SUFFIXES)}); "
                                "pass image files or folders of them.")
            paths.append(path)
        else:
            raise DataError(f"input {item!r} does not exist; check the path.")
    stems = [p.stem for p in paths]
    duplicate = next((s for s in stems if stems.count(s) > 1), None)
    if duplicate:
        raise DataError(f"two inputs are named {duplicate!r}; their outputs would overwrite each "
                        "other, so restore them into separate --output folders.")
    return paths


def restore_files(restorer, inputs: Sequence[str], output: str, *, tile: int = 0,
                  margin: int = 48, progress: bool = True) -> list[Path]:
    paths = collect_inputs(inputs)
    out_dir = Path(output)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--output {output!r} is a file; pass a folder.")
    written = []
    for i, path in enumerate(paths, 1):
        image = read_image(path, mode="native")
        restored = restore_image(restorer, image, tile=tile, margin=margin)
        target = out_dir / f"{path.stem}.png"
        write_image(target, restored)
        written.append(target)
        if progress:
            print(f"[{i}/{len(paths)}] {path} -> {target} ({image.shape[1]}x{image.shape[0]} -> "
                  f"{restored.shape[1]}x{restored.shape[0]})", file=sys.stderr)
    return written


def restore_image(restorer, image: np.ndarray, *, tile: int = 0, margin: int = 48) -> np.ndarray:
    """uint8 HxWxC (C = 1 or 3) -> the restored uint8 image with the same channel count."""
    grey = image.shape[-1] == 1
    channels = getattr(restorer, "channels", 3)
    multiple = getattr(restorer.generator, "size_multiple", 1) if hasattr(restorer, "generator") else 1

    def run(x: np.ndarray) -> np.ndarray:
        return restore_tiled(restorer.apply, x.astype(np.float32) / 255.0, scale=restorer.scale,
                             tile=tile, margin=margin, multiple=multiple)

    if channels == 1 and not grey:  # a luma model on colour: restore Y, keep the input's chroma
        ycbcr = rgb_to_ycbcr(image.astype(np.float64) / 255.0)
        ycbcr[..., 0] = run(rgb_to_y_uint8(image)[..., None])[..., 0]
        return to_uint8(ycbcr_to_rgb(ycbcr) * 255.0)
    if channels == 3 and grey:
        return to_uint8(run(np.repeat(image, 3, axis=-1)).mean(axis=-1, keepdims=True) * 255.0)
    return to_uint8(run(image).astype(np.float64) * 255.0)


def check_tiling(tile: int, margin: int) -> None:
    """Refuses a negative tile or margin, and tiles so small that restoring them one by one would be
    many times slower than the whole image."""
    if tile < 0 or margin < 0:
        raise DataError("--tile and --tile_margin must be >= 0.")
    if 0 < tile < MIN_TILE:
        raise DataError(f"--tile={tile} is below {MIN_TILE} input pixels: such small tiles are restored "
                        f"one by one, many times slower than the whole image; use --tile={MIN_TILE} or more "
                        "(128-512 is typical), or --tile=0 for whole images.")


def margin_warning(restorer, tile: int, margin: int) -> str | None:
    """A warning when tiles' margins are below the generator's receptive-field radius (seams may
    then differ from whole-image inference), else None."""
    radius = getattr(restorer.generator, "receptive_radius", None)
    if tile > 0 and radius is not None and margin < radius:
        return (f"warning: --tile_margin={margin} is below this generator's receptive-field radius "
                f"({radius} input pixels): pixels near tile seams see less context than in whole-image inference "
                f"and may differ from it; --tile_margin={radius} makes tiles exact.")
    return None
