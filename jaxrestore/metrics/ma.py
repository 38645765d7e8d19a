"""Ma, Yang, Yang and Yang's no-reference score for super-resolved images (CVIU 2017; "Ma" in
001_*'s perceptual index), computed as their MATLAB release (``quality_predict.m``) computes it,
and the perceptual index PI = ((10 - Ma) + NIQE) / 2 of Blau et al. (PIRM 2018).

The score is a regression on three groups of features of a grey (or Y) image in [0, 255]:

1. **local frequency** (18): on a three-level spatial pyramid (the image / 255, then twice a
   3x3 Gaussian of sigma 0.5 with zero borders and every second pixel from the second), the
   7x7 DCT of each 3x3 block with a 2-pixel border (``blkproc``, zero padding): the generalised
   Gaussian shape of the AC coefficients, their coefficient of variation, and the variance of
   that coefficient over three oriented coefficient sets; pooled as the mean of the lowest
   tenth / the highest tenth and the mean of all blocks (``block_dct.m``);
2. **global frequency** (45): a two-scale, six-orientation steerable pyramid in the Fourier
   domain (matlabPyrTools' ``buildSFpyr``) of the image in [0, 255]; each band divisively
   normalised by its Gaussian scale mixture neighbourhood (3x3 neighbours, parent, the other
   orientations; ``norm_sender_normalized.m`` of DIIVINE) and cropped by a guard band; the
   generalised Gaussian shape of each band and of each orientation's two scales together, the
   SSIM contrast-structure term between each band (resized by MATLAB's bicubic ``imresize``)
   and the high-pass residual, and between every pair of orientations at the first scale
   (``global_gsm.m``);
3. **spatial** (75): the singular values of the 5x5 non-overlapping patches of each pyramid
   level (``svd(im2col(., [5 5], 'distinct'))``).

Each group feeds a regression forest (Liaw and Wiener's randomForest as ``randomforest-matlab``
stores it: 2,000 trees per group), and the three predictions are combined linearly:
``Ma = [1 s1 s2 s3] @ linear``. That trained model is not public on the package index and is
not shipped here: :func:`load_model` reads it from the release's ``model.mat`` (see docs/evaluation.md).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from scipy import ndimage, special
from scipy.io import loadmat

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.resize import imresize
from jaxrestore.metrics.niqe import gaussian_window

# The generalised Gaussian shape grid of gama_gen_gauss.m (g = 0.03:0.001:10) and the moment
# ratio var / E|x - mean|^2 it inverts, which decreases strictly along the grid.
GGD_SHAPES = 0.03 + 0.001 * np.arange(9971)
_GGD_RATIO = np.exp(special.gammaln(1.0 / GGD_SHAPES) + special.gammaln(3.0 / GGD_SHAPES)
                    - 2.0 * special.gammaln(2.0 / GGD_SHAPES))
# The smallest image side the features are defined on: the first scale's normalised bands lose
# 1 + 16 pixels on each side and must keep an 11x11 SSIM window.
MIN_SIDE = 45


def ggd_shape(ratio: np.ndarray) -> np.ndarray:
    """The grid shape whose moment ratio is nearest ``ratio`` (the first one on a tie, as MATLAB's
    ``min``), for any array of ratios."""
    ratio = np.asarray(ratio, np.float64)
    descending = -_GGD_RATIO  # ascending
    k = np.clip(np.searchsorted(descending, -ratio), 1, GGD_SHAPES.size - 1)
    lower, upper = k - 1, k
    pick_upper = np.abs(_GGD_RATIO[upper] - ratio) < np.abs(_GGD_RATIO[lower] - ratio)
    return GGD_SHAPES[np.where(pick_upper, upper, lower)]


def ggd_ratio(x: np.ndarray, axis=-1) -> np.ndarray:
    """gama_gen_gauss.m's statistic: unbiased variance over the squared mean absolute deviation."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=axis, keepdims=True)
    return x.var(axis=axis, ddof=1) / (np.mean(np.abs(x - mean), axis=axis) ** 2 + 1e-7)


def coefficient_of_variation(x: np.ndarray, axis=-1, eps: float = 1e-7) -> np.ndarray:
    """``std(|x|) / (mean(|x|) + eps)`` with the unbiased deviation: eps 1e-7 in coeff_var_gen_gauss.m,
    1e-8 in the oriented{1,2,3}_dct_rho_config3.m files."""
    a = np.abs(np.asarray(x, np.float64))
    return a.std(axis=axis, ddof=1) / (a.mean(axis=axis) + eps)


def dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix (MATLAB's ``dct``): ``dct2(B) = D @ B @ D.T``."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


def spatial_pyramid(luma: np.ndarray) -> list[np.ndarray]:
    """feature_all.m's three levels: the image / 255, then twice ``imfilter(., fspecial('gaussian',
    3))`` (sigma 0.5, zero borders) keeping rows and columns 2, 4, ..."""
    levels = [np.asarray(luma, np.float64) / 255.0]
    window = gaussian_window(3, 0.5)
    for _ in range(2):
        filtered = ndimage.correlate(levels[-1], window, mode="constant", cval=0.0)
        levels.append(filtered[1::2, 1::2])
    return levels


# The three oriented coefficient sets of a 7x7 DCT block (oriented{1,2,3}_dct_rho_config3.m):
# (row, first column, last column + 1) runs, 0-based; the third set is the first transposed.
_ORIENTED_RUNS = (
    ((0, 1, 7), (1, 2, 7), (2, 4, 7), (3, 5, 7)),
    ((1, 1, 2), (2, 2, 4), (3, 2, 5), (4, 3, 7), (5, 4, 7), (6, 4, 7)),
)


def _oriented_masks() -> list[np.ndarray]:
    masks = []
    for runs in _ORIENTED_RUNS:
        mask = np.zeros((7, 7), bool)
        for row, start, stop in runs:
            mask[row, start:stop] = True
        masks.append(mask)
    masks.append(masks[0].T.copy())
    return masks


def dct_blocks(image: np.ndarray) -> np.ndarray:
    """(rows, cols, 7, 7) DCTs of ``blkproc(image, [3 3], [2 2], ...)``'s blocks: the image
    zero-padded to whole 3x3 blocks and by 2 pixels around, each block with its border."""
    h, w = image.shape
    rows, cols = -(-h // 3), -(-w // 3)
    padded = np.zeros((3 * rows + 4, 3 * cols + 4))
    padded[2:2 + h, 2:2 + w] = image
    blocks = np.lib.stride_tricks.sliding_window_view(padded, (7, 7))[::3, ::3]
    d = dct_matrix(7)
    return np.einsum("ij,rcjk,lk->rcil", d, blocks, d, optimize=True)


def _low_tenth_mean(values: np.ndarray) -> float:
    v = np.sort(np.ravel(values))
    return float(np.mean(v[:math.ceil(v.size * 0.1)]))


def _high_tenth_mean(values: np.ndarray) -> float:
    v = np.sort(np.ravel(values))
    return float(np.mean(v[int(v.size * 0.9) - 1:]))  # MATLAB's v(fix(n * 0.9):end)


def block_dct_features(image: np.ndarray) -> np.ndarray:
    """block_dct.m's six features of one pyramid level: (lowest tenth and mean of the GGD shape,
    highest tenth and mean of the coefficient of variation, highest tenth and mean of the
    variance over the three orientations)."""
    coefficients = dct_blocks(np.asarray(image, np.float64))
    rows, cols = coefficients.shape[:2]
    # Column-major order, as MATLAB's B(:): the DC term first, dropped.
    ac = coefficients.transpose(0, 1, 3, 2).reshape(rows, cols, 49)[..., 1:]
    shape = ggd_shape(ggd_ratio(ac))
    variation = coefficient_of_variation(ac)
    oriented = np.stack([coefficient_of_variation(coefficients[..., mask], eps=1e-8) for mask in _oriented_masks()])
    orientation = oriented.var(axis=0, ddof=1)
    return np.array([_low_tenth_mean(shape), float(np.mean(shape)),
                     _high_tenth_mean(variation), float(np.mean(variation)),
                     _high_tenth_mean(orientation), float(np.mean(orientation))])


def patch_singular_values(image: np.ndarray, size: int = 5) -> np.ndarray:
    """The singular values (descending) of ``im2col(image, [5 5], 'distinct')``: the image
    zero-padded at the bottom and right to whole 5x5 patches, one patch per column."""
    h, w = image.shape
    rows, cols = -(-h // size), -(-w // size)
    padded = np.zeros((rows * size, cols * size))
    padded[:h, :w] = image
    patches = padded.reshape(rows, size, cols, size).transpose(0, 2, 1, 3).reshape(-1, size * size)
    return np.linalg.svd(patches, compute_uv=False)


# --------------------------------------------------------------------- steerable pyramid


def _raised_cosine(width: float = 1.0, position: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """matlabPyrTools' ``rcosFn(width, position, [0 1])``: a 259-entry table rising from 0 to 1."""
    size = 256
    x = np.pi * np.arange(-size - 1, 2) / (2 * size)
    y = np.cos(x) ** 2
    y[0] = y[1]
    y[size + 2] = y[size + 1]
    return position + (2 * width / np.pi) * (x + np.pi / 4), y


def point_op(image: np.ndarray, table: np.ndarray, origin: float, increment: float) -> np.ndarray:
    """matlabPyrTools' ``pointOp``: the table read at ``(image - origin) / increment`` by linear
    interpolation, extrapolating the end segments."""
    position = (image - origin) / increment
    index = np.clip(np.floor(position).astype(np.int64), 0, table.size - 2)
    return table[index] + (table[index + 1] - table[index]) * (position - index)


def steerable_pyramid(image: np.ndarray, height: int = 2, order: int = 5):
    """``buildSFpyr(image, height, order)``: (high-pass residual, [bands of each scale, each a list
    of ``order + 1`` orientations], low-pass residual), all real, in matlabPyrTools' conventions."""
    image = np.asarray(image, np.float64)
    bands_per_scale = order + 1
    dims = np.array(image.shape)
    ctr = np.ceil((dims + 0.5) / 2).astype(int)  # 1-based centre
    xramp, yramp = np.meshgrid((np.arange(1, dims[1] + 1) - ctr[1]) / (dims[1] / 2),
                               (np.arange(1, dims[0] + 1) - ctr[0]) / (dims[0] / 2))
    angle = np.arctan2(yramp, xramp)
    radius = np.sqrt(xramp ** 2 + yramp ** 2)
    radius[ctr[0] - 1, ctr[1] - 1] = radius[ctr[0] - 1, ctr[1] - 2]
    log_rad = np.log2(radius)
    xr, yr = _raised_cosine(1.0, -0.5)
    yr = np.sqrt(yr)
    yir = np.sqrt(1.0 - yr ** 2)
    imdft = np.fft.fftshift(np.fft.fft2(image))
    hi0 = np.real(np.fft.ifft2(np.fft.ifftshift(imdft * point_op(log_rad, yr, xr[0], xr[1] - xr[0]))))
    lodft = imdft * point_op(log_rad, yir, xr[0], xr[1] - xr[0])

    lut = 1024
    xcosn = np.pi * np.arange(-(2 * lut + 1), lut + 2) / lut
    const = (2.0 ** (2 * order)) * math.factorial(order) ** 2 / (bands_per_scale * math.factorial(2 * order))
    ycosn = np.sqrt(const) * np.cos(xcosn) ** order
    scales = []
    for _ in range(height):
        xr = xr - 1.0
        himask = point_op(log_rad, yr, xr[0], xr[1] - xr[0])
        bands = []
        for b in range(bands_per_scale):
            anglemask = point_op(angle, ycosn, xcosn[0] + np.pi * b / bands_per_scale, xcosn[1] - xcosn[0])
            banddft = ((-1j) ** order) * lodft * anglemask * himask
            bands.append(np.real(np.fft.ifft2(np.fft.ifftshift(banddft))))
        scales.append(bands)
        dims = np.array(lodft.shape)
        ctr = np.ceil((dims + 0.5) / 2).astype(int)
        lodims = np.ceil((dims - 0.5) / 2).astype(int)
        loctr = np.ceil((lodims + 0.5) / 2).astype(int)
        start = ctr - loctr
        window = (slice(start[0], start[0] + lodims[0]), slice(start[1], start[1] + lodims[1]))
        log_rad, angle, lodft = log_rad[window], angle[window], lodft[window]
        lodft = lodft * point_op(log_rad, np.abs(np.sqrt(1.0 - yr ** 2)), xr[0], xr[1] - xr[0])
    lowpass = np.real(np.fft.ifft2(np.fft.ifftshift(lodft)))
    return hi0, scales, lowpass


def _matlab_pinv(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(matrix, rcond=max(matrix.shape) * np.finfo(np.float64).eps)


def normalised_subbands(scales: list[list[np.ndarray]], guardband: int = 16) -> list[np.ndarray]:
    """``norm_sender_normalized(pyr, pind, 2, 6, 1, 1, 3, 3, 50)``: each oriented band divided by
    the GSM multiplier estimated from its neighbourhood vector (3x3 neighbours, the parent band
    upsampled by ``imresize(., 2)`` where the release gives it one, the other orientations),
    cropped by the guard band (16 pixels, halved per scale) and made zero-mean; in order scale 1
    orientations 1..6, then scale 2. Two-dimensional arrays."""
    orientations = len(scales[0])
    total = len(scales) * orientations + 1  # Nband of the release: the bands and the low-pass
    out = []
    for s, bands in enumerate(scales):
        for o, aux in enumerate(bands):
            nband = s * orientations + o + 2  # 1-based pyramid band, after the high-pass
            has_parent = nband < total - orientations
            nv, nh = aux.shape
            nblv, nblh = nv - 2, nh - 2
            interior = (slice(1, 1 + nblv), slice(1, 1 + nblh))
            columns = [np.roll(aux, (dy, dx), axis=(0, 1))[interior] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            if has_parent:
                parent = np.real(imresize(scales[s + 1][o], 2.0))[:nv, :nh]
                columns.append(parent[interior])
            n = len(columns)
            columns += [bands[k][interior] for k in range(orientations) if k != o]
            y = np.stack([c.ravel() for c in columns], axis=1)
            cov = y.T @ y / y.shape[0]
            eigenvalues, q = np.linalg.eigh(cov)
            positive = eigenvalues * (eigenvalues > 0)
            denominator = positive.sum() + (positive.sum() == 0)
            cov = q @ np.diag(positive * eigenvalues.sum() / denominator) @ q.T
            centred = aux[interior].ravel() - aux[interior].mean()
            z = np.sqrt(np.sum((y @ _matlab_pinv(cov)) * y, axis=1) / n)
            g = np.divide(centred, z, out=np.zeros_like(centred), where=z != 0).reshape(nblv, nblh)
            gb = guardband // 2 ** s
            g = g[gb:nblv - gb, gb:nblh - gb]
            out.append(g - g.mean())
    return out


def ssim_contrast_structure(a: np.ndarray, b: np.ndarray) -> float:
    """The mean contrast-structure term of SSIM (``ssim_index_new``'s third output): 11x11
    Gaussian of sigma 1.5, 'valid' windows, C2 = (0.03 * 255)^2."""
    window = gaussian_window(11, 1.5)

    def local(x):
        full = ndimage.correlate(x, window, mode="constant")
        return full[5:x.shape[0] - 5, 5:x.shape[1] - 5]

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = local(a), local(b)
    var_a, var_b = local(a * a) - mu_a ** 2, local(b * b) - mu_b ** 2
    cov = local(a * b) - mu_a * mu_b
    c2 = (0.03 * 255.0) ** 2
    return float(np.mean((2 * cov + c2) / (var_a + var_b + c2)))


def gsm_features(luma: np.ndarray) -> np.ndarray:
    """global_gsm.m's 45 features of a grey image in [0, 255]."""
    hi0, scales, _ = steerable_pyramid(np.asarray(luma, np.float64), 2, 5)
    subbands = normalised_subbands(scales)
    half = len(subbands) // 2
    features = [ggd_shape(ggd_ratio(g.ravel())) for g in subbands]
    features += [ggd_shape(ggd_ratio(np.concatenate([subbands[i].ravel(), subbands[i + half].ravel()])))
                 for i in range(half)]
    raw = [band for bands in scales for band in bands]
    features += [ssim_contrast_structure(imresize(band, output_shape=hi0.shape), hi0) for band in raw]
    features += [ssim_contrast_structure(subbands[i], subbands[j]) for i in range(half) for j in range(i + 1, half)]
    return np.asarray(features, np.float64)


def ma_features(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """feature_all.m's three feature vectors (18, 45, 75) of a grey (or Y) image in [0, 255]."""
    image = np.asarray(luma, np.float64)
    if image.ndim != 2:
        raise DataError(f"Ma's score takes one grey (or Y) channel, got shape {image.shape}.")
    if min(image.shape) < MIN_SIDE:
        raise DataError(f"Ma's score needs an image of at least {MIN_SIDE}x{MIN_SIDE} pixels, got "
                        f"{image.shape[0]}x{image.shape[1]}.")
    levels = spatial_pyramid(image)
    if min(-(-level.shape[0] // 5) * -(-level.shape[1] // 5) for level in levels) < 25:
        raise DataError(f"Ma's score needs at least 25 5x5 patches at each of its three scales (an image of about "
                        f"81x81 pixels), got {image.shape[0]}x{image.shape[1]}.")
    local = np.concatenate([block_dct_features(level) for level in levels])
    spatial = np.concatenate([patch_singular_values(level) for level in levels])
    return local, gsm_features(image), spatial


# --------------------------------------------------------------------- the regression model

_FOREST_FIELDS = ("lDau", "rDau", "nodestatus", "upper", "avnode", "mbest")


def forest_predict(forest: dict, x: np.ndarray) -> float:
    """``regRF_predict``: the mean over trees of the leaf value reached by going left where
    ``x[mbest - 1] <= upper`` (1-based node and variable numbers; a leaf has node status -1),
    then randomForest's bias correction ``coef[0] + coef[1] * y`` when ``coef`` is non-zero."""
    x = np.asarray(x, np.float64).ravel()
    left, right, status = forest["lDau"], forest["rDau"], forest["nodestatus"]
    upper, value, variable = forest["upper"], forest["avnode"], forest["mbest"]
    trees = left.shape[1]
    tree = np.arange(trees)
    node = np.zeros(trees, np.int64)
    for _ in range(left.shape[0]):
        inner = status[node, tree] != -1
        if not inner.any():
            break
        go_left = x[variable[node, tree] - 1] <= upper[node, tree]
        following = np.where(go_left, left[node, tree], right[node, tree]) - 1
        node = np.where(inner, following, node)
    prediction = float(np.mean(value[node, tree]))
    coef = forest.get("coef")
    if coef is not None and np.any(coef != 0):
        prediction = float(coef[0] + coef[1] * prediction)
    return prediction


def _as_dict(struct) -> dict:
    """A MATLAB struct as scipy.io.loadmat returns it (a 1x1 record array) as a dict of arrays."""
    while isinstance(struct, np.ndarray) and struct.dtype == object and struct.size == 1:
        struct = struct.item()
    if isinstance(struct, np.ndarray) and struct.dtype.names:
        record = struct.reshape(-1)[0]
        return {name: record[name] for name in struct.dtype.names}
    raise ValueError("not a MATLAB struct")


def load_model(path: str | os.PathLike) -> dict:
    """Ma et al.'s trained model from the release's ``model.mat`` (a struct ``model`` with ``rf``,
    a cell of three randomforest-matlab regression forests — fields ``lDau``, ``rDau``,
    ``nodestatus``, ``upper``, ``avnode``, ``mbest`` (nodes x trees) and optionally ``coef`` —
    and ``linear``, the 4 weights of ``[1 s1 s2 s3]``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Ma et al.'s model file {str(path)!r} does not exist; pass the path of the model.mat "
                          "of their release (see docs/evaluation.md, 'Ma and PI').")
    try:
        data = loadmat(path)
    except Exception as err:  # scipy raises several types for a file that is not a v5 MAT file
        raise ConfigError(f"{str(path)!r} is not a MATLAB v5 .mat file ({err}); pass the model.mat of Ma et al.'s "
                          "release.") from None
    try:
        model = _as_dict(data["model"])
        cells = np.asarray(model["rf"], dtype=object).reshape(-1)
        forests = []
        for cell in cells:
            fields = _as_dict(cell)
            forest = {name: np.asarray(fields[name]) for name in _FOREST_FIELDS}
            for name in ("lDau", "rDau", "nodestatus", "mbest"):
                forest[name] = forest[name].astype(np.int64)
            for name in ("upper", "avnode"):
                forest[name] = forest[name].astype(np.float64)
            if "coef" in fields:
                forest["coef"] = np.asarray(fields["coef"], np.float64).ravel()
            forests.append(forest)
        linear = np.asarray(model["linear"], np.float64).ravel()
    except (KeyError, ValueError, TypeError) as err:
        raise ConfigError(f"{str(path)!r} is not Ma et al.'s model (a struct 'model' with 'rf', three regression "
                          f"forests, and 'linear'): {err!s}.") from None
    if len(forests) != 3 or linear.shape != (4,):
        raise ConfigError(f"{str(path)!r}: Ma et al.'s model has three forests and four linear weights, got "
                          f"{len(forests)} and {linear.size}.")
    for k, forest in enumerate(forests):
        shapes = {forest[name].shape for name in _FOREST_FIELDS}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ConfigError(f"{str(path)!r}: forest {k + 1}'s arrays must all be nodes x trees, got "
                              f"{sorted(shapes)}.")
    return {"forests": forests, "linear": linear}


def ma_score(luma: np.ndarray, model: dict) -> float:
    """Ma et al.'s score of a grey (or Y) image in [0, 255]; higher is better (0-10)."""
    features = ma_features(luma)
    scores = [forest_predict(forest, f) for forest, f in zip(model["forests"], features)]
    return float(np.dot(np.concatenate([[1.0], scores]), model["linear"]))


def perceptual_index(ma: float, niqe: float) -> float:
    """PI = ((10 - Ma) + NIQE) / 2 (Blau et al. 2018); lower is better."""
    return 0.5 * ((10.0 - ma) + niqe)
