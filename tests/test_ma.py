"""Ma et al.'s features against a separate, loop-by-loop transcription of their MATLAB release
(feature_all.m, block_dct.m and its helpers, global_gsm.m, matlabPyrTools' buildSFpyr,
DIIVINE's norm_sender_normalized.m and ssim_index_new.m), on real image crops; the regression
forests and PI against a recursive evaluation of trees the test builds and stores in the
release's model.mat layout."""

import math

import numpy as np
import pytest
from PIL import Image
from scipy import fft, signal
from scipy.io import savemat

from conftest import SHARED_DATA
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation import luma_uint8
from jaxrestore.imaging.resize import imresize
from jaxrestore.metrics import ma
from jaxrestore.metrics import niqe as nq


def luma(path) -> np.ndarray:
    return luma_uint8(np.asarray(Image.open(path).convert("RGB"))).astype(np.float64)


# ------------------------------------------------------------------ the transcription
# Shares nothing with the module but MATLAB's imresize (tested against MATLAB's files in
# test_resize.py); MATLAB's 1-based indices are written out and shifted by one.

def t_gauss(size, sigma):  # fspecial('gaussian', size, sigma)
    c = (size - 1) / 2
    w = np.array([[math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma ** 2)) for j in range(size)]
                  for i in range(size)])
    return w / w.sum()


def t_imfilter_zero(image, window):  # imfilter(image, h): correlation, zero borders, same size
    k = window.shape[0] // 2
    padded = np.zeros((image.shape[0] + 2 * k, image.shape[1] + 2 * k))
    padded[k:-k, k:-k] = image
    out = np.zeros_like(image)
    for i in range(window.shape[0]):
        for j in range(window.shape[1]):
            out += window[i, j] * padded[i:i + image.shape[0], j:j + image.shape[1]]
    return out


GAMS = [0.03 + 0.001 * k for k in range(9971)]
R_GAMS = np.array([math.gamma(1 / g) * math.gamma(3 / g) / math.gamma(2 / g) ** 2 for g in GAMS])


def t_gama_gen_gauss(values):
    v = np.asarray(values, np.float64).ravel()
    mean = v.mean()
    var = np.sum((v - mean) ** 2) / (v.size - 1)
    rho = var / (np.mean(np.abs(v - mean)) ** 2 + 0.0000001)
    return GAMS[int(np.argmin(np.abs(R_GAMS - rho)))]


def t_cv(values, eps):
    a = np.abs(np.asarray(values, np.float64).ravel())
    return math.sqrt(np.sum((a - a.mean()) ** 2) / (a.size - 1)) / (a.mean() + eps)


def t_blkproc(image, fn):  # blkproc(im, [3 3], [2 2], fn)
    m, n = image.shape
    mp, np_ = 3 * math.ceil(m / 3), 3 * math.ceil(n / 3)
    padded = np.zeros((mp + 4, np_ + 4))
    padded[2:2 + m, 2:2 + n] = image
    out = np.zeros((mp // 3, np_ // 3))
    for bi in range(mp // 3):
        for bj in range(np_ // 3):
            out[bi, bj] = fn(padded[3 * bi:3 * bi + 7, 3 * bj:3 * bj + 7])
    return out


def t_dct2(block):
    return fft.dctn(block, norm="ortho")


def t_gama_dct(block):
    return t_gama_gen_gauss(t_dct2(block).flatten(order="F")[1:])


def t_coeff_var_dct(block):
    return t_cv(t_dct2(block).flatten(order="F")[1:], 0.0000001)  # coeff_var_gen_gauss.m


def t_oriented(block, which):
    t = t_dct2(block)
    if which == 1:  # [temp(1,2:end) temp(2,3:end) temp(3,5:end) temp(4,6:end)]
        v = np.concatenate([t[0, 1:], t[1, 2:], t[2, 4:], t[3, 5:]])
    elif which == 2:  # [temp(2,2) temp(3,3:4) temp(4,3:5) temp(5,4:end) temp(6,5:end) temp(7,5:end)]
        v = np.concatenate([t[1, 1:2], t[2, 2:4], t[3, 2:5], t[4, 3:], t[5, 4:], t[6, 4:]])
    else:  # [temp(2:end,1); temp(3:end,2); temp(5:end,3); temp(6:end,4)]
        v = np.concatenate([t[1:, 0], t[2:, 1], t[4:, 2], t[5:, 3]])
    return t_cv(v, 0.00000001)


def t_block_dct(image):
    gama = np.sort(t_blkproc(image, t_gama_dct).flatten(order="F"))
    cv = np.sort(t_blkproc(image, t_coeff_var_dct).flatten(order="F"))
    o = [t_blkproc(image, lambda b, k=k: t_oriented(b, k)) for k in (1, 2, 3)]
    var = np.zeros(o[0].shape)
    for i in range(var.shape[0]):
        for j in range(var.shape[1]):
            trio = [o[0][i, j], o[1][i, j], o[2][i, j]]
            var[i, j] = sum((x - sum(trio) / 3) ** 2 for x in trio) / 2
    ori = np.sort(var.flatten(order="F"))
    return [gama[:math.ceil(len(gama) * 0.1)].mean(), gama.mean(),
            cv[int(len(cv) * 0.9) - 1:].mean(), cv.mean(),
            ori[int(len(ori) * 0.9) - 1:].mean(), ori.mean()]


def t_im2col_svd(image):  # svd(im2col(image, [5 5], 'distinct'))
    m, n = image.shape
    mp, np_ = 5 * math.ceil(m / 5), 5 * math.ceil(n / 5)
    padded = np.zeros((mp, np_))
    padded[:m, :n] = image
    columns = [padded[i:i + 5, j:j + 5].flatten(order="F") for j in range(0, np_, 5) for i in range(0, mp, 5)]
    return np.linalg.svd(np.stack(columns, axis=1), compute_uv=False)


def t_rcos(width, position):
    sz = 256
    x = np.array([math.pi * k / (2 * sz) for k in range(-sz - 1, 2)])
    y = np.cos(x) ** 2
    y[0], y[sz + 2] = y[1], y[sz + 1]
    return position + (2 * width / math.pi) * (x + math.pi / 4), y


def t_point_op(image, lut, origin, increment):
    out = np.empty(image.shape)
    for idx, value in np.ndenumerate(image):
        pos = (value - origin) / increment
        k = min(max(int(math.floor(pos)), 0), len(lut) - 2)
        out[idx] = lut[k] + (lut[k + 1] - lut[k]) * (pos - k)
    return out


def t_sf_levels(lodft, log_rad, xr, yr, angle, ht, nbands):  # buildSFpyrLevs, recursive as released
    if ht <= 0:
        return [np.real(np.fft.ifft2(np.fft.ifftshift(lodft)))]
    xr = xr - math.log2(2)
    lutsize = 1024
    xcosn = np.array([math.pi * k / lutsize for k in range(-(2 * lutsize + 1), lutsize + 2)])
    order = nbands - 1
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (nbands * math.factorial(2 * order))
    ycosn = math.sqrt(const) * np.cos(xcosn) ** order
    himask = t_point_op(log_rad, yr, xr[0], xr[1] - xr[0])
    bands = []
    for b in range(1, nbands + 1):
        anglemask = t_point_op(angle, ycosn, xcosn[0] + math.pi * (b - 1) / nbands, xcosn[1] - xcosn[0])
        banddft = (complex(0, -1) ** order) * lodft * anglemask * himask
        bands.append(np.real(np.fft.ifft2(np.fft.ifftshift(banddft))))
    dims = lodft.shape
    ctr = [math.ceil((d + 0.5) / 2) for d in dims]
    lodims = [math.ceil((d - 0.5) / 2) for d in dims]
    loctr = [math.ceil((d + 0.5) / 2) for d in lodims]
    lostart = [c - l + 1 for c, l in zip(ctr, loctr)]
    loend = [s + d - 1 for s, d in zip(lostart, lodims)]
    crop = (slice(lostart[0] - 1, loend[0]), slice(lostart[1] - 1, loend[1]))
    log_rad, angle, lodft = log_rad[crop], angle[crop], lodft[crop]
    lomask = t_point_op(log_rad, np.abs(np.sqrt(1 - yr ** 2)), xr[0], xr[1] - xr[0])
    return bands + t_sf_levels(lomask * lodft, log_rad, xr, yr, angle, ht - 1, nbands)


def t_build_sf_pyr(im, ht, order):  # returns [hi0, bands..., lowpass] as pyrBand would
    dims = im.shape
    ctr = [math.ceil((d + 0.5) / 2) for d in dims]
    xramp = np.array([[(j - ctr[1]) / (dims[1] / 2) for j in range(1, dims[1] + 1)] for _ in range(dims[0])])
    yramp = np.array([[(i - ctr[0]) / (dims[0] / 2) for _ in range(dims[1])] for i in range(1, dims[0] + 1)])
    angle = np.arctan2(yramp, xramp)
    log_rad = np.sqrt(xramp ** 2 + yramp ** 2)
    log_rad[ctr[0] - 1, ctr[1] - 1] = log_rad[ctr[0] - 1, ctr[1] - 2]
    log_rad = np.log2(log_rad)
    xr, yr = t_rcos(1, -0.5)
    yr = np.sqrt(yr)
    yir = np.sqrt(1 - yr ** 2)
    imdft = np.fft.fftshift(np.fft.fft2(im))
    lo0dft = imdft * t_point_op(log_rad, yir, xr[0], xr[1] - xr[0])
    rest = t_sf_levels(lo0dft, log_rad, xr, yr, angle, ht, order + 1)
    hi0 = np.real(np.fft.ifft2(np.fft.ifftshift(imdft * t_point_op(log_rad, yr, xr[0], xr[1] - xr[0]))))
    return [hi0] + rest


def t_shift(mtx, offset):  # matlabPyrTools' shift: res(pos) = mtx(pos - offset), circularly
    h, w = mtx.shape
    out = np.empty_like(mtx)
    for i in range(h):
        for j in range(w):
            out[i, j] = mtx[(i - offset[0]) % h, (j - offset[1]) % w]
    return out


def t_pinv(a):
    u, s, vt = np.linalg.svd(a)
    tol = max(a.shape) * s[0] * np.finfo(float).eps
    inv = np.array([1 / x if x > tol else 0.0 for x in s])
    return vt.T @ np.diag(inv) @ u.T


def t_norm_sender(pyr, nsc, nor):  # norm_sender_normalized(pyr, pind, nsc, nor, 1, 1, 3, 3, 50)
    guardband = 16
    nband_total = len(pyr) - 1
    subbands, sizes = [], []
    for scale in range(1, nsc + 1):
        for orien in range(1, nor + 1):
            nband = (scale - 1) * nor + orien + 1
            aux = pyr[nband - 1]
            nsy, nsx = aux.shape
            prnt = nband < nband_total - nor
            nblv, nblh = nsy - 2, nsx - 2
            columns = []
            for ny in (-1, 0, 1):
                for nx in (-1, 0, 1):
                    columns.append(t_shift(aux, (ny, nx))[1:1 + nblv, 1:1 + nblh].flatten(order="F"))
            if prnt:
                parent = np.real(imresize(pyr[nband + nor - 1], 2))[:nsy, :nsx]
                columns.append(parent[1:1 + nblv, 1:1 + nblh].flatten(order="F"))
            n_size = 9 + int(prnt)
            for neib in range(1, nor + 1):
                if neib != orien:
                    other = pyr[(scale - 1) * nor + neib + 1 - 1]
                    columns.append(other[1:1 + nblv, 1:1 + nblh].flatten(order="F"))
            y = np.stack(columns, axis=1)
            c_x = y.T @ y / (nblv * nblh)
            w, q = np.linalg.eig(c_x)
            w, q = np.real(w), np.real(q)
            pos = w * (w > 0)
            c_x = q @ np.diag(pos * w.sum() / (pos.sum() + (pos.sum() == 0))) @ q.T
            o_c = aux[1:1 + nblv, 1:1 + nblh].flatten(order="F")
            o_c = o_c - o_c.mean()
            z = np.sqrt(np.sum((y @ t_pinv(c_x)) * y / n_size, axis=1))
            g = (o_c / z).reshape((nblv, nblh), order="F")
            gb = guardband // 2 ** (scale - 1)
            g = g[gb:nblv - gb, gb:nblh - gb]
            sizes.append(g.shape)
            g = g.flatten(order="F")
            subbands.append(g - g.mean())
    return subbands, sizes


def t_ssim_cs(img1, img2):  # the mcs output of ssim_index_new(img1, img2)
    window = t_gauss(11, 1.5)
    c2 = (0.03 * 255) ** 2

    def f(x):
        return signal.correlate2d(x, window, mode="valid")

    mu1, mu2 = f(img1), f(img2)
    s1, s2, s12 = f(img1 * img1) - mu1 * mu1, f(img2 * img2) - mu2 * mu2, f(img1 * img2) - mu1 * mu2
    return np.mean((2 * s12 + c2) / (s1 + s2 + c2))


def t_global_gsm(im):
    pyr = t_build_sf_pyr(im, 2, 5)
    subband, size_band = t_norm_sender(pyr, 2, 6)
    f = [t_gama_gen_gauss(t) for t in subband]
    f += [t_gama_gen_gauss(np.concatenate([subband[i], subband[i + 6]])) for i in range(6)]
    hp = pyr[0]
    f += [t_ssim_cs(imresize(pyr[i + 1], output_shape=hp.shape), hp) for i in range(12)]
    for i in range(6):
        for j in range(i + 1, 6):
            f.append(t_ssim_cs(subband[i].reshape(size_band[i], order="F"),
                               subband[j].reshape(size_band[j], order="F")))
    return np.array(f)


def t_feature_all(img):
    im1 = img / 255.0
    h = t_gauss(3, 0.5)
    im2 = t_imfilter_zero(im1, h)[1::2, 1::2]
    im3 = t_imfilter_zero(im2, h)[1::2, 1::2]
    f1 = np.array(t_block_dct(im1) + t_block_dct(im2) + t_block_dct(im3))
    f3 = np.concatenate([t_im2col_svd(im1), t_im2col_svd(im2), t_im2col_svd(im3)])
    return f1, t_global_gsm(np.asarray(img, np.float64)), f3


# ------------------------------------------------------------------ the features


@pytest.fixture(scope="module")
def crops():
    # An odd-sized and an even-sized crop of real images (the pyramid's centre and the blocks'
    # padding differ between the two).
    baboon = luma(SHARED_DATA / "Set14" / "baboon.png")[101:202, 203:293]  # 101 x 90
    zebra = luma(SHARED_DATA / "Set14" / "zebra.png")[40:136, 300:404]    # 96 x 104
    return [baboon, zebra]


@pytest.mark.parametrize("index", [0, 1])
def test_features_equal_the_transcription(crops, index):
    image = crops[index]
    ours = ma.ma_features(image)
    theirs = t_feature_all(image)
    assert [f.shape for f in ours] == [(18,), (45,), (75,)]
    # The DCT and GSM groups hold grid shapes (steps of 0.001) picked by an argmin and order
    # statistics: equal to rounding. The singular values: float64 rounding of two SVDs.
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-9, atol=1e-9)


def test_ggd_shape_search_is_the_grid_argmin():
    ratios = np.concatenate([[1e9, 5.0, 1.3], np.random.default_rng(0).uniform(1.36, 40.0, 500), R_GAMS[::997]])
    expected = [GAMS[int(np.argmin(np.abs(R_GAMS - r)))] for r in ratios]
    np.testing.assert_allclose(ma.ggd_shape(ratios), expected, rtol=0, atol=1e-12)


def test_steerable_pyramid_splits_the_spectrum():
    # buildSFpyr's filters square-sum to one: the high-pass, the band-pass bands and the low-pass
    # together carry the image's energy (Parseval), away from the odd Nyquist rows' folding.
    image = np.random.default_rng(1).normal(size=(64, 64))
    hi0, scales, low = ma.steerable_pyramid(image, 2, 5)
    # A component kept on an M x M grid of the N x N spectrum carries (M / N)^2 of its samples'
    # energy in the image: the second scale lives at half the side, the low-pass at a quarter.
    energy = np.sum(hi0 ** 2) + sum(np.sum(b ** 2) / 4 ** s for s, bands in enumerate(scales) for b in bands)
    energy += np.sum(low ** 2) / 16
    assert energy == pytest.approx(np.sum(image ** 2), rel=1e-4)  # measured 6e-6


def test_small_image_is_refused_by_name():
    # svd(im2col(.)) of the third scale has fewer than 25 values below 25 patches: the release's
    # [svd svd svd] would fail.
    with pytest.raises(DataError, match="at least 45x45 pixels, got 40x90"):
        ma.ma_features(np.zeros((40, 90)))
    with pytest.raises(DataError, match="at least 25 5x5 patches at each of its three scales .*, got 80x80"):
        ma.ma_features(np.zeros((80, 80)))
    assert [f.shape for f in ma.ma_features(np.random.default_rng(0).uniform(0, 255, (84, 84)))] == \
        [(18,), (45,), (75,)]


# ------------------------------------------------------------------ the forests and PI


def random_tree(rng, n_features, depth=0):
    if depth >= 4 or (depth > 0 and rng.random() < 0.3):
        return ("leaf", float(rng.normal(5.0, 2.0)))
    return ("split", int(rng.integers(n_features)), float(rng.normal(0.5, 0.5)),
            random_tree(rng, n_features, depth + 1), random_tree(rng, n_features, depth + 1))


def tree_value(tree, x):  # randomForest's rule: left where x[var] <= split
    while tree[0] == "split":
        tree = tree[3] if x[tree[1]] <= tree[2] else tree[4]
    return tree[1]


def serialise(trees):
    """randomforest-matlab's arrays (nodes x trees): 1-based daughters and variables, node status
    -1 for a leaf and -3 for a split, unused nodes zero."""
    tables = []
    for tree in trees:
        nodes, queue = [], [tree]
        while queue:
            node = queue.pop(0)
            nodes.append(node)
            if node[0] == "split":
                queue += [node[3], node[4]]
        index = {id(n): k + 1 for k, n in enumerate(nodes)}
        tables.append(nodes and [(index.get(id(n[3]), 0) if n[0] == "split" else 0,
                                  index.get(id(n[4]), 0) if n[0] == "split" else 0,
                                  -3 if n[0] == "split" else -1,
                                  n[2] if n[0] == "split" else 0.0,
                                  n[1] if n[0] == "leaf" else 0.0,
                                  n[1] + 1 if n[0] == "split" else 0) for n in nodes])
    nrnodes = max(len(t) for t in tables)
    arrays = {k: np.zeros((nrnodes, len(trees))) for k in ("lDau", "rDau", "nodestatus", "upper", "avnode", "mbest")}
    for j, table in enumerate(tables):
        for i, row in enumerate(table):
            for key, value in zip(("lDau", "rDau", "nodestatus", "upper", "avnode", "mbest"), row):
                arrays[key][i, j] = value
    for key in ("lDau", "rDau", "nodestatus", "mbest"):
        arrays[key] = arrays[key].astype(np.int32)
    arrays["ndtree"] = np.array([[len(t) for t in tables]], np.int32)
    arrays["ntree"] = np.array([[len(trees)]], np.int32)
    return arrays


@pytest.fixture(scope="module")
def forests_and_model(tmp_path_factory):
    rng = np.random.default_rng(7)
    forests = [[random_tree(rng, n) for _ in range(25)] for n in (18, 45, 75)]
    structs = [serialise(f) for f in forests]
    structs[0]["coef"] = np.zeros((1, 2))
    structs[2]["coef"] = np.array([[0.5, 0.9]])  # randomForest's bias correction
    linear = np.array([[1.5], [0.4], [0.3], [0.2]])
    cells = np.empty((1, 3), dtype=object)
    for k, s in enumerate(structs):
        cells[0, k] = s
    path = tmp_path_factory.mktemp("ma") / "model.mat"
    savemat(path, {"model": {"rf": cells, "linear": linear}})
    return forests, linear.ravel(), path


def expected_ma(forests, linear, features):
    s = [np.mean([tree_value(t, f) for t in forest]) for forest, f in zip(forests, features)]
    s[2] = 0.5 + 0.9 * s[2]
    return float(linear @ np.array([1.0, *s]))


def test_ma_score_reads_the_release_layout(crops, forests_and_model):
    forests, linear, path = forests_and_model
    model = ma.load_model(path)
    # Features near the trees' thresholds so that both branches are taken: scaled real features.
    features = [f / np.abs(f).max() for f in t_feature_all(crops[0])]
    for forest_arrays, forest, f in zip(model["forests"][:2], forests[:2], features[:2]):
        assert ma.forest_predict(forest_arrays, f) == pytest.approx(np.mean([tree_value(t, f) for t in forest]),
                                                                    rel=1e-12)
    image_features = t_feature_all(crops[1])
    assert ma.ma_score(crops[1], model) == pytest.approx(expected_ma(forests, linear, image_features), rel=1e-9)


def test_bad_model_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; pass the path of the model.mat"):
        ma.load_model(tmp_path / "missing.mat")
    (tmp_path / "text.mat").write_text("not a mat file")
    with pytest.raises(ConfigError, match="is not a MATLAB v5 .mat file"):
        ma.load_model(tmp_path / "text.mat")
    savemat(tmp_path / "other.mat", {"mu_prisparam": np.zeros(36)})
    with pytest.raises(ConfigError, match="is not Ma et al.'s model"):
        ma.load_model(tmp_path / "other.mat")


def test_evaluate_reports_pi_from_niqe_and_ma(forests_and_model, tmp_path, monkeypatch):
    from jaxrestore.evaluate import run

    forests, linear, path = forests_and_model
    folder = tmp_path / "crops"
    folder.mkdir()
    # 212 x 212 crops: 204 x 204 after the scale's border, four NIQE blocks.
    for name, box in (("baby.png", (100, 140, 312, 352)), ("bird.png", (40, 40, 252, 252))):
        rgb = np.asarray(Image.open(SHARED_DATA / "Set5" / name).convert("RGB"))
        Image.fromarray(rgb[box[1]:box[3], box[0]:box[2]]).save(folder / name)
    pristine = np.random.default_rng(3)
    mu = pristine.normal(size=36)
    a = pristine.normal(size=(36, 36))
    savemat(tmp_path / "pristine.mat", {"mu_prisparam": mu, "cov_prisparam": a @ a.T})
    summary = run(task="sr", baseline="bicubic", checkpoint=None, scale=4, data=[str(folder)],
                  output=str(tmp_path / "r.json"), progress=False, metrics=["psnr", "ssim", "pi"],
                  niqe_model=str(tmp_path / "pristine.mat"), ma_model=str(path), table="001")
    niqe_model = nq.load_pristine_model(tmp_path / "pristine.mat")
    per_image = []
    for name in ("baby.png", "bird.png"):
        y = luma(folder / name) / 255.0
        restored = np.clip(np.round(imresize(imresize(y, 0.25), 4) * 255.0), 0, 255)[4:-4, 4:-4]
        niqe_value = nq.niqe(restored, niqe_model)
        ma_value = expected_ma(forests, linear, t_feature_all(restored))
        per_image.append((niqe_value, ma_value, ((10 - ma_value) + niqe_value) / 2))
    means = np.mean(per_image, axis=0)
    row = summary["crops"]
    assert (row["niqe"], row["ma"], row["pi"]) == pytest.approx(tuple(means), rel=1e-9)
    header = (tmp_path / "r.csv").read_text().splitlines()[0].split(",")
    assert header[6:9] == ["niqe", "ma", "pi"]
    lines = (tmp_path / "r.md").read_text().splitlines()
    assert lines[3] == f"| PI | {means[2]:.3f} |"
    assert lines[5] == f"| Ma | {means[1]:.3f} |"


def test_pi_without_ma_model_is_refused(tmp_path, monkeypatch):
    from jaxrestore.evaluation.report import no_reference_metrics

    monkeypatch.delenv("JAXRESTORE_MA_MODEL", raising=False)
    savemat(tmp_path / "pristine.mat", {"mu_prisparam": np.zeros(36), "cov_prisparam": np.eye(36)})
    with pytest.raises(ConfigError, match=r"PI = \(\(10 - Ma\) \+ NIQE\) / 2 needs Ma et al.'s trained model, "
                                          r"which cannot be downloaded here: pass --ma_model=FILE"):
        no_reference_metrics(["psnr", "pi"], str(tmp_path / "pristine.mat"), "sr")
