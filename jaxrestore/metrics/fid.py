"""Fréchet Inception distance (Heusel et al., 2017, Eq. 6) and the per-run FID log.

FID compares two image sets through the mean and covariance of their 2048-d
Inception pool3 features: ``||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``.
The pipeline follows pytorch-fid: uint8 RGB images scaled to [0, 1], resized to
299x299 by bilinear interpolation with half-pixel centres and no antialiasing
(``F.interpolate(mode="bilinear", align_corners=False)``), fed to the FID
Inception (:mod:`jaxrestore.models.inception`). The resize runs on the host, so
images of many sizes share one compiled network; the statistics are float64 NumPy.

Training runs append ``{"step", "epoch", "fid"}`` lines to ``<workdir>/fid.jsonl``
(:func:`append_fid_record`), which ``python -m jaxrestore.plot fid`` draws.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxrestore.errors import CheckpointError, DataError
from jaxrestore.models.inception import FID_SIZE, POOL3_FEATURES, FIDInceptionV3
from jaxrestore.runtime.atomic import atomic_open
from jaxrestore.weights.inception import load_inception_variables

FID_RECORDS = "fid.jsonl"


# ---------------------------------------------------------------------------- distance


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance of the Gaussians N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``tr((S1 S2)^(1/2))`` is the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix ``S1^(1/2) S2 S1^(1/2)`` (similar to ``S1 S2``), with
    ``S1^(1/2) = V diag(w)^(1/2) V^T`` from a symmetric eigendecomposition and
    negative round-off eigenvalues clipped to 0. This is stable for the rank-deficient
    covariances of fewer images than feature dimensions, where a general matrix
    square root is not. Only the r eigenvectors of numerically nonzero ``w`` are kept:
    with ``U = V_r diag(w_r)^(1/2)`` the nonzero eigenvalues are those of the r x r
    matrix ``U^T S2 U``, which saves the second d x d eigendecomposition when r < d
    (N images give r <= N - 1). A round-off negative result is returned as 0.
    """
    mu1, mu2 = _vector(mu1, "mu1"), _vector(mu2, "mu2")
    sigma1, sigma2 = _matrix(sigma1, "sigma1"), _matrix(sigma2, "sigma2")
    shapes = [mu1.shape[0], mu2.shape[0], *sigma1.shape, *sigma2.shape]
    if len(set(shapes)) != 1:
        raise DataError(
            f"frechet_distance needs means of shape (d,) and covariances of shape (d, d) for "
            f"one d, got mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, sigma2 "
            f"{sigma2.shape}; compute both statistics from features of the same network layer."
        )
    w1, v1 = np.linalg.eigh(sigma1)
    keep = w1 > w1.max(initial=0.0) * len(w1) * np.finfo(np.float64).eps  # numerical rank
    tr_covmean = 0.0
    if keep.any():
        u = v1[:, keep] * np.sqrt(w1[keep])
        middle = u.T @ sigma2 @ u
        eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
        tr_covmean = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)
    return max(value, 0.0)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof 1) of ``(N, D)`` features, N >= 2, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise DataError(f"feature_statistics needs an (images, features) array, got shape {features.shape}.")
    if features.shape[0] < 2:
        raise DataError(
            f"FID needs at least 2 images per set to estimate a covariance, got {features.shape[0]}; "
            "use more images (thousands for a stable FID)."
        )
    if not np.all(np.isfinite(features)):
        raise DataError("The Inception features contain NaN or infinity; check the images and weights.")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _vector(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise DataError(f"frechet_distance: {name} must be a vector of shape (d,), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise DataError(f"frechet_distance: {name} contains NaN or infinity.")
    return x


def _matrix(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise DataError(f"frechet_distance: {name} must be a square (d, d) covariance, got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise DataError(f"frechet_distance: {name} contains NaN or infinity.")
    return (x + x.T) / 2.0


# ------------------------------------------------------------------------ preprocessing


def resize_bilinear(image, size: tuple[int, int] = (FID_SIZE, FID_SIZE)) -> np.ndarray:
    """Bilinear resize of an HxWxC array to ``size`` = (height, width), as float32.

    Matches ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``:
    output pixel i samples the input at ``(i + 0.5) * in / out - 0.5`` (clamped at 0)
    and nothing is low-pass filtered first, even when shrinking.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or 0 in image.shape:
        raise DataError(f"resize_bilinear needs an HxWxC image, got shape {image.shape}.")
    out_h, out_w = size
    if (out_h, out_w) != image.shape[:2]:
        i0, i1, t = _taps(image.shape[0], out_h)
        image = image[i0] * (1.0 - t)[:, None, None] + image[i1] * t[:, None, None]
        j0, j1, u = _taps(image.shape[1], out_w)
        image = image[:, j0] * (1.0 - u)[None, :, None] + image[:, j1] * u[None, :, None]
    return image.astype(np.float32)


def _taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the two neighbours of each output pixel and the weight of the second."""
    src = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    return i0, i1, src - i0


def preprocess(image, *, index: int = 0) -> np.ndarray:
    """A uint8 HxW, HxWx1 or HxWx3 image -> 299x299x3 float32 in [0, 1]."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(
            f"FID image {index} has dtype {image.dtype}; pass uint8 pixels (e.g. "
            "np.clip(np.round(x * 255), 0, 255).astype(np.uint8) for an image in [0, 1])."
        )
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3) or 0 in image.shape:
        raise DataError(
            f"FID image {index} has shape {image.shape}; pass HxW or HxWx1 grey or HxWx3 RGB "
            "images (drop an alpha channel first)."
        )
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return resize_bilinear(image.astype(np.float32) / 255.0)


# ------------------------------------------------------------------------------ features


@jax.jit
def _pool3(variables, x):
    return FIDInceptionV3(precision=jax.lax.Precision.HIGHEST).apply(variables, x)


class InceptionFeatures:
    """Pool3 features of the FID Inception, jitted once for ``(batch_size, 299, 299, 3)``.

    Args:
      weights: variables from ``jaxrestore.weights.inception``, or a path to
        pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` or the .npz that
        ``python -m jaxrestore.convert inception`` writes.
      batch_size: images per network call; the last batch is zero-padded, so every
        call has the same shape and one compilation serves all.

    Convolutions run at ``Precision.HIGHEST`` so that accelerators compute float32.
    """

    def __init__(self, weights: str | os.PathLike | Mapping[str, Any], *, batch_size: int = 50):
        if isinstance(weights, Mapping):
            if set(weights) != {"params", "batch_stats"}:
                raise CheckpointError(
                    f"InceptionFeatures got variables with collections {sorted(weights)}; pass "
                    "{'params', 'batch_stats'} from jaxrestore.weights.inception or a weight file path."
                )
            self.variables = weights
        else:
            self.variables = load_inception_variables(weights)
        if batch_size < 1:
            raise DataError(f"InceptionFeatures batch_size must be >= 1, got {batch_size}.")
        self.batch_size = int(batch_size)

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, 2048)`` float64 features of N uint8 images (HxW, HxWx1 or HxWx3, any size)."""
        images = list(images)
        if not images:
            raise DataError("InceptionFeatures got no images; pass at least one.")
        out = np.empty((len(images), POOL3_FEATURES), np.float64)
        batch = np.zeros((self.batch_size, FID_SIZE, FID_SIZE, 3), np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            for i, image in enumerate(chunk):
                batch[i] = preprocess(image, index=start + i)
            batch[len(chunk):] = 0.0
            out[start:start + len(chunk)] = self._run(batch)[: len(chunk)]
        return out

    def pool3(self, images) -> np.ndarray:
        """``(N, 2048)`` float64 features of an NHWC float batch in [0, 1], already 299x299."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1:] != (FID_SIZE, FID_SIZE, 3):
            raise DataError(
                f"InceptionFeatures.pool3 needs an (N, {FID_SIZE}, {FID_SIZE}, 3) batch, got shape "
                f"{images.shape}; call the extractor on the images themselves to resize them."
            )
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start:start + self.batch_size]
            padded = np.zeros((self.batch_size, *chunk.shape[1:]), np.float32)
            padded[: len(chunk)] = chunk
            out.append(self._run(padded)[: len(chunk)])
        return np.concatenate(out, axis=0)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(_pool3(self.variables, batch), dtype=np.float64)


def fid_of_images(extractor: InceptionFeatures, images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray]) -> float:
    """FID between two sets of uint8 images (each at least 2 images)."""
    stats_a = feature_statistics(extractor(images_a))
    stats_b = feature_statistics(extractor(images_b))
    return frechet_distance(*stats_a, *stats_b)


# ------------------------------------------------------------------------------- records


def append_fid_record(workdir: str | os.PathLike, *, step: int, epoch: float, fid: float) -> None:
    """Appends ``{"step", "epoch", "fid"}`` as one line to ``<workdir>/fid.jsonl``.

    The file is rewritten whole through :func:`atomic_open`, so a crash leaves
    either the old log or the new one, never a torn last line.
    """
    path = Path(workdir) / FID_RECORDS
    line = json.dumps({"step": int(step), "epoch": float(epoch), "fid": float(fid)}) + "\n"
    old = path.read_text() if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    with atomic_open(path, "w") as f:
        f.write(old + line)


def read_fid_records(workdir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``<workdir>/fid.jsonl`` sorted by step; a repeated step keeps its last record."""
    path = Path(workdir) / FID_RECORDS
    if not path.is_file():
        raise DataError(
            f"no {FID_RECORDS} in {os.fspath(workdir)!r}; train with config.eval.fid_every_steps > 0 "
            "(and FID Inception weights) so that the run records its FID."
        )
    by_step: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        record = _parse_record(line)
        if record is None:
            raise DataError(
                f"{os.fspath(path)} line {number} is not a record "
                '{"step": int, "epoch": number, "fid": number}; fix or delete that line.'
            )
        by_step[record["step"]] = record
    return [by_step[step] for step in sorted(by_step)]


def _parse_record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    step, epoch, fid = record.get("step"), record.get("epoch"), record.get("fid")
    if not isinstance(step, int) or isinstance(step, bool):
        return None
    for value in (epoch, fid):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
    return {"step": step, "epoch": float(epoch), "fid": float(fid)}
