"""What both restoration experiments share: the methods chosen, the test images, one results
schema, the checks of a solve, and the written results.

**One schema** for ``configs/gan_prior.py`` (002_*) and ``configs/iagan.py`` (003_*): every
method's entry in ``results.json`` holds the scores of :func:`scores` under the same names with
the same meanings, on RGB in [0, 1] with every result clipped to [0, 1] (float, no rounding to
8 bits):

- ``psnr_mean``: the mean over images of each image's PSNR over all its pixels;
- ``psnr_of_mean_mse``: ``10 log10(1 / mean MSE)`` over the whole set (003_*'s footnote 3);
- ``ssim``: Wang et al.'s Gaussian SSIM (11x11, sigma 1.5, data range 1) averaged over the three
  channels, then over images;
- ``mse``: the mean squared error per pixel, averaged over images;
- ``ps``: LPIPS (003_*'s PS; only where the experiment computes it);
- ``seconds_per_image``.

``results["headline"]`` names the PSNR the paper's table reports (002_* states neither, so its
experiment names the mean of per-image PSNRs; 003_* the PSNR of the mean MSE). ``results.csv``
holds one row per (setting, method) with the columns :data:`CSV_COLUMNS`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.io import write_image
from jaxrestore.metrics.ssim import ssim
from jaxrestore.runtime.results import write_results

SCORES = ("psnr_mean", "psnr_of_mean_mse", "ssim", "ps", "mse", "seconds_per_image")
CSV_COLUMNS = ("task", "setting", "noise", "method", "images") + SCORES
_CSV_FORMATS = {"psnr_mean": ".4f", "psnr_of_mean_mse": ".4f", "ssim": ".6f", "ps": ".6f", "mse": ".8f",
                "seconds_per_image": ".4f"}


def choose_methods(text: str, known, default) -> list[str]:
    """The comma-separated ``methods=`` field of either command, in the order of ``known``;
    empty: ``default`` (the paper's table). An unknown name is one :class:`ConfigError`."""
    chosen = [m.strip() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise ConfigError(f"unknown method {unknown[0]!r} in methods={text!r}; choose from "
                          f"{', '.join(known)} (empty: the table's {', '.join(default)}).")
    return [m for m in known if m in (chosen or default)]


def check_data(config) -> None:
    """The test-set and figure fields both experiments share, refused before anything is read."""
    if int(config.data.max_images) < 0:
        raise ConfigError(f"data.max_images={config.data.max_images} must be >= 0 (0: every image of data.test).")
    if int(config.figure_images) < 0:
        raise ConfigError(f"figure_images={config.figure_images} must be >= 0 (0: no figure.png).")


def load_test_images(config, size: int | None) -> tuple[list[str], np.ndarray]:
    """The test images as (names, N x size x size x 3 float32 in [0, 1]); ``size`` None
    (no prior): every image must have the first one's size."""
    images = make_eval_images(config.data.test, field="data.test", count=int(config.data.max_images) or None,
                              tfds_data_dir=config.data.get("tfds_data_dir", ""),
                              center_crop=config.data.get("center_crop", 0), resize=config.data.get("resize", 0),
                              crop_box=tuple(config.data.get("crop_box", ())))
    if not images:
        raise DataError(f"data.test={config.data.test!r} holds no images; point it at a folder of "
                        f"{size or 64}x{size or 64} images.")
    if size is None:
        first = next(iter(images.values()))
        for name, image in images.items():
            if image.shape[:2] != first.shape[:2]:
                raise DataError(f"test image {name!r} is {image.shape[0]}x{image.shape[1]} but the first is "
                                f"{first.shape[0]}x{first.shape[1]}; the methods restore a batch of one size, "
                                "so crop/resize the test set to one size.")
    for name, image in images.items():
        if size is None:
            break
        if image.shape[:2] != (size, size):
            raise DataError(f"test image {name!r} is {image.shape[0]}x{image.shape[1]} but the prior makes "
                            f"{size}x{size} images; crop/resize the test set to {size}x{size} or use a prior "
                            f"trained at {image.shape[0]} (data.patch_size).")
    names = list(images)
    return names, np.stack([images[n] for n in names]).astype(np.float32) / 255.0


def scores(restored, clean, ps=None) -> dict[str, float]:
    """The schema's scores (module docstring) of N restored images against the clean ones (both
    N x H x W x 3 in [0, 1]); ``ps(x, y) -> (N,)`` adds LPIPS."""
    restored = np.clip(np.asarray(restored, np.float64), 0.0, 1.0)
    clean = np.asarray(clean, np.float64)
    mse = np.mean((restored - clean) ** 2, axis=(1, 2, 3))
    out = {"psnr_mean": float(np.mean(10.0 * np.log10(1.0 / np.maximum(mse, 1e-30)))),
           "psnr_of_mean_mse": float(10.0 * np.log10(1.0 / max(np.mean(mse), 1e-30))),
           "ssim": float(np.mean([ssim(r, c, data_range=1.0) for r, c in zip(restored, clean)]))}
    if ps is not None:
        distances = np.concatenate([np.asarray(ps(jnp.asarray(restored[i:i + 16], jnp.float32),
                                                  jnp.asarray(clean[i:i + 16], jnp.float32)))
                                    for i in range(0, len(restored), 16)])
        out["ps"] = float(np.mean(distances))
    out["mse"] = float(np.mean(mse))
    return out


def options_dict(options) -> dict:
    """A solver's or baseline's options dataclass as JSON-ready values (tuples as lists)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(options).items()}


def check_finite(objective, what: str, field: str, names) -> None:
    """Refuses a solve whose objective became non-finite, naming the first image and the field to lower."""
    if not np.all(np.isfinite(objective)):
        bad = names[int(np.argmax(~np.isfinite(objective)))]
        raise DataError(f"the {what} objective became non-finite (first on {bad!r}); lower {field} "
                        "(no results were written).")


def csv_rows(results: dict) -> list[list]:
    """One CSV row per (setting, method) of ``results`` (a sweep's entries, or its one setting)."""
    entries = results.get("sweep") or [{"setting": "", "methods": results["methods"]}]
    rows = []
    for entry in entries:
        setting = "" if entry["setting"] is None else entry["setting"]
        for method, s in entry["methods"].items():
            rows.append([results["task"], setting, results.get("noise", ""), method, results["images"],
                         *(format(s[k], _CSV_FORMATS[k]) if k in s else "" for k in SCORES)])
    return rows


def write_outputs(workdir: Path, results: dict, figure: np.ndarray | None, markdown: str) -> None:
    """``figure.png`` (unless ``figure`` is None) and ``results.json`` / ``.csv`` / ``.md``, each
    written atomically, on process 0 only (JSON last)."""
    if jax.process_index() != 0:
        return
    if figure is not None:
        write_image(workdir / "figure.png", figure)
    write_results(workdir / "results.json", results, header=CSV_COLUMNS, rows=csv_rows(results), markdown=markdown)
