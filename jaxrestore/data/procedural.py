"""Built-in procedural images, so every method trains and evaluates offline.

:func:`dead_leaves` draws the dead-leaves model (Lee, Mumford & Huang, "Occlusion
models for natural images", IJCV 2001): opaque shapes fall on top of each other
with radii from a power law ``p(r) ∝ r^-3`` between ``r_min`` and ``r_max``, which
makes the image statistics roughly scale invariant, as in natural images. Shapes
are disks, rotated ellipses and rotated rectangles; each is filled with a flat
colour, a linear ramp between two colours or a sinusoidal texture, over a smooth
colour-ramp background, so there are edges, flat areas, ramps and fine periodic
detail for restoration to learn. Edges are anti-aliased by drawing at twice the
size and averaging 2x2 blocks (a camera integrates light over a pixel too).

Speed: Pillow rasterises the shapes into a label map (which shape is on top at
each pixel); the fills are then evaluated for all pixels at once with numpy, so
drawing an image costs little beside a training step (measured: docs/speed.md).

Images are uint8 HxWx3; the same ``seed`` and ``size`` always give the same image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

_ELLIPSE_VERTICES = 20


def _power_law_radii(rng: np.random.Generator, n: int, r_min: float, r_max: float) -> np.ndarray:
    """Samples ``p(r) ∝ r^-3`` on ``[r_min, r_max]`` by inverting its CDF."""
    u = rng.random(n)
    inv_sq = 1.0 / r_min**2 - u * (1.0 / r_min**2 - 1.0 / r_max**2)
    return 1.0 / np.sqrt(inv_sq)


def dead_leaves(
    seed: int,
    size: tuple[int, int],
    *,
    num_shapes: int | None = None,
    r_min: float | None = None,
    r_max: float | None = None,
    supersample: int = 2,
) -> np.ndarray:
    """A dead-leaves image, uint8 ``(height, width, 3)``, deterministic in ``seed``.

    Args:
      seed: any non-negative integer.
      size: ``(height, width)`` of the image in pixels.
      num_shapes: shapes to draw; default one per 160 pixels, between 20 and 2000.
      r_min, r_max: radius range in output pixels; default ``min(size)/32`` (at
        least 1) and ``min(size)/3`` (at least 2). Shapes smaller than this carry
        detail that a x4 downscale erases entirely, which no method can restore.
      supersample: draw at this many times the size and average blocks, which
        anti-aliases the edges; 1 is about twice as fast with jagged edges.
    """
    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    rng = np.random.default_rng(seed)
    s = int(supersample)
    big_h, big_w = height * s, width * s
    short = min(height, width)
    r_min = (r_min if r_min is not None else max(1.0, short / 32.0)) * s
    r_max = (r_max if r_max is not None else max(2.0, short / 3.0)) * s
    n = int(num_shapes if num_shapes is not None else min(2000, max(20, height * width // 160)))

    # Shape parameters; index 0 is the background, a ramp over the whole image.
    radius = np.concatenate([[np.hypot(big_h, big_w) / 2], _power_law_radii(rng, n, r_min, r_max)])
    cy = np.concatenate([[big_h / 2], rng.uniform(-r_max / 2, big_h + r_max / 2, n)])
    cx = np.concatenate([[big_w / 2], rng.uniform(-r_max / 2, big_w + r_max / 2, n)])
    shape_kind = rng.random(n)  # < 0.6 disk, < 0.8 rotated ellipse, else rotated rectangle
    aspect = rng.uniform(0.4, 1.0, n)
    angle = rng.uniform(0.0, np.pi, n + 1)
    fill_kind = np.concatenate([[0.6], rng.random(n)])  # < 0.55 flat, < 0.8 ramp, else texture
    colour0 = rng.random((n + 1, 3)).astype(np.float32)
    colour1 = rng.random((n + 1, 3)).astype(np.float32)
    period = rng.uniform(6.0, 16.0, n + 1) * s
    amplitude = rng.uniform(0.1, 0.35, n + 1)
    phase = rng.uniform(0.0, 2.0 * np.pi, n + 1)

    # Rasterise the label map (later shapes occlude earlier ones).
    labels = Image.new("I", (big_w, big_h), 0)
    draw = ImageDraw.Draw(labels)
    t = np.linspace(0.0, 2.0 * np.pi, _ELLIPSE_VERTICES, endpoint=False)
    unit_ellipse = np.stack([np.cos(t), np.sin(t)], -1)  # (V, 2) as (x, y)
    unit_rect = np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]])
    r, a = radius[1:, None], aspect[:, None]
    cos, sin = np.cos(angle[1:, None]), np.sin(angle[1:, None])

    def place(unit):  # (V,2) unit shape -> (n, V, 2) image coordinates
        u, v = unit[None, :, 0] * r, unit[None, :, 1] * r * a
        return np.stack([cx[1:, None] + u * cos - v * sin, cy[1:, None] + u * sin + v * cos], -1)

    ellipses = place(unit_ellipse).reshape(n, -1).tolist()
    rects = place(unit_rect).reshape(n, -1).tolist()
    boxes = np.stack([cx[1:] - radius[1:], cy[1:] - radius[1:], cx[1:] + radius[1:], cy[1:] + radius[1:]], -1)
    boxes = boxes.tolist()
    for i, kind in enumerate(shape_kind.tolist()):
        if kind < 0.6:
            draw.ellipse(boxes[i], fill=i + 1)
        else:
            draw.polygon(ellipses[i] if kind < 0.8 else rects[i], fill=i + 1)
    label = np.asarray(labels)

    # Evaluate every pixel's fill from the parameters of the shape on top: one
    # table row per shape, gathered once. proj is the position along the shape's
    # direction; ramp weight = clip(ramp_offset + proj * ramp_gain) (zero for flat
    # and textured fills); wave = amplitude * sin(proj * wave_freq + phase) (zero
    # unless textured).
    is_ramp = (fill_kind >= 0.55) & (fill_kind < 0.8)
    is_wave = fill_kind >= 0.8
    sin_a, cos_a = np.sin(angle), np.cos(angle)
    table = np.concatenate([
        np.stack([
            sin_a, cos_a, cy * sin_a + cx * cos_a,
            np.where(is_ramp, 1.0 / (2.0 * radius), 0.0), np.where(is_ramp, 0.5, 0.0),
            2.0 * np.pi / period, phase, np.where(is_wave, amplitude, 0.0),
        ], -1),
        colour0, colour1,
    ], -1).astype(np.float32)
    p = np.take(table, label, axis=0)  # (H, W, 14)
    ys = np.arange(big_h, dtype=np.float32)[:, None] + np.float32(0.5)
    xs = np.arange(big_w, dtype=np.float32)[None, :] + np.float32(0.5)
    proj = ys * p[..., 0] + xs * p[..., 1] - p[..., 2]
    ramp = np.clip(p[..., 4] + proj * p[..., 3], 0.0, 1.0)
    wave = p[..., 7] * np.sin(proj * p[..., 5] + p[..., 6])
    c0 = p[..., 8:11]
    image = c0 + (p[..., 11:14] - c0) * ramp[..., None] + wave[..., None]  # (H, W, 3)

    # Average s x s blocks back to the output size.
    image = sum(image[i::s, j::s] for i in range(s) for j in range(s)) * np.float32(1.0 / (s * s))
    return np.clip(np.round(image * np.float32(255.0)), 0, 255).astype(np.uint8)
