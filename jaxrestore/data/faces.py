"""Built-in procedural face-like images, the offline stand-in for CelebA in the GAN-prior
presets (``procedural:faces``).

Each image is an aligned frontal "face" on a smooth background, in the spirit of
CelebA's aligned crops: a skin-toned head ellipse with shading, hair (a cap and, at
random, side locks), two eyes (white, iris, pupil) under eyebrows, a nose ridge and a
mouth, placed symmetrically about a vertical axis with small random jitter of
position, size, pose and colour. So the family has the structure a GAN prior for
faces learns (a fixed layout, symmetry, a few colour modes) and the tasks of 002_*
(a missing centre patch, greyscale, x4 downsampling) have something to restore. Drawn
at 4x the size with Pillow and averaged down (anti-aliased edges). uint8 HxWx3; the
same seed and size always give the same image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

_SKIN = np.array([[233, 192, 160], [210, 160, 120], [175, 120, 85], [120, 80, 55], [245, 210, 185]], float)
_HAIR = np.array([[30, 20, 15], [80, 50, 25], [150, 110, 60], [200, 170, 110], [100, 100, 100]], float)
_IRIS = np.array([[70, 50, 30], [60, 90, 140], [70, 110, 70], [40, 30, 25]], float)


def _colour(rng, palette, jitter=18.0):
    base = palette[rng.integers(len(palette))]
    return tuple(int(v) for v in np.clip(base + rng.normal(0, jitter, 3), 0, 255))


def face(seed: int, size: tuple[int, int] = (64, 64), *, supersample: int = 4) -> np.ndarray:
    height, width = int(size[0]), int(size[1])
    if height < 8 or width < 8:
        raise ValueError(f"a face image needs at least 8x8 pixels, got {size!r}")
    rng = np.random.default_rng(seed)
    s = int(supersample)
    h, w = height * s, width * s
    # Background: a vertical ramp between two random colours.
    top, bottom = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    ramp = np.linspace(0, 1, h)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp) * np.ones((1, w, 1))
    canvas = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    cx = w / 2 + rng.normal(0, 0.02) * w
    cy = h * (0.55 + rng.normal(0, 0.015))
    rx, ry = w * rng.uniform(0.26, 0.32), h * rng.uniform(0.33, 0.39)
    skin, hair = _colour(rng, _SKIN), _colour(rng, _HAIR)
    # Hair behind the head (side locks), the head, then the cap of hair on top.
    if rng.random() < 0.6:
        draw.ellipse([cx - rx * 1.25, cy - ry * 1.15, cx + rx * 1.25, cy + ry * rng.uniform(0.6, 1.1)], fill=hair)
    draw.rectangle([cx - rx * 0.45, cy + ry * 0.8, cx + rx * 0.45, h], fill=tuple(int(v * 0.85) for v in skin))  # neck
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=skin)
    draw.chord([cx - rx * 1.05, cy - ry * 1.12, cx + rx * 1.05, cy + ry * rng.uniform(0.1, 0.5)], 180, 360, fill=hair)
    # Eyes, symmetric about the axis, with eyebrows above them.
    ey, ex = cy + ry * rng.uniform(-0.05, 0.08), rx * rng.uniform(0.36, 0.46)
    eye_w, eye_h = rx * rng.uniform(0.2, 0.26), ry * rng.uniform(0.07, 0.1)
    iris = _colour(rng, _IRIS, 10)
    gaze = rng.normal(0, 0.15) * eye_w
    for side in (-1, 1):
        x = cx + side * ex
        draw.ellipse([x - eye_w, ey - eye_h, x + eye_w, ey + eye_h], fill=(245, 245, 240))
        r = eye_h * 0.95
        draw.ellipse([x + gaze - r, ey - r, x + gaze + r, ey + r], fill=iris)
        draw.ellipse([x + gaze - r / 2, ey - r / 2, x + gaze + r / 2, ey + r / 2], fill=(15, 10, 10))
        by = ey - eye_h * rng.uniform(2.2, 3.0)
        draw.line([x - eye_w * 1.1, by + side * 0, x + eye_w * 1.1, by - eye_h * 0.4], fill=hair,
                  width=max(1, int(eye_h * 0.8)))
    # Nose ridge and its shadow, then the mouth.
    shade = tuple(int(v * 0.8) for v in skin)
    ny = ey + ry * rng.uniform(0.3, 0.38)
    draw.line([cx, ey + eye_h, cx + rx * 0.05, ny], fill=shade, width=max(1, s))
    draw.ellipse([cx - rx * 0.12, ny - ry * 0.03, cx + rx * 0.12, ny + ry * 0.04], fill=shade)
    my, mw = ny + ry * rng.uniform(0.2, 0.28), rx * rng.uniform(0.28, 0.4)
    lips = tuple(int(v) for v in np.clip(np.array(skin) * [0.85, 0.5, 0.5] + rng.normal(0, 8, 3), 0, 255))
    smile = rng.uniform(0.03, 0.12) * ry
    draw.chord([cx - mw, my - smile, cx + mw, my + smile * 1.5], 0, 180, fill=lips)
    image = np.asarray(canvas, np.float64)
    # Soft shading across the face (light from one side) to give it some relief.
    light = 1.0 + 0.12 * rng.choice([-1, 1]) * (np.arange(w)[None, :, None] - cx) / w
    image = np.clip(image * light, 0, 255)
    image = image.reshape(height, s, width, s, 3).mean(axis=(1, 3))
    return np.round(image).astype(np.uint8)
