"""A separate, loop-by-loop transcription of Ma et al.'s MATLAB release (feature_all.m,
block_dct.m and its helpers, global_gsm.m, matlabPyrTools' buildSFpyr, DIIVINE's
norm_sender_normalized.m and ssim_index_new.m) that tests/test_ma.py checks
:mod:`jaxrestore.metrics.ma` against; each function names the MATLAB code it stands for."""

import math

import numpy as np
from PIL import Image
from scipy import fft, signal

from jaxrestore.evaluation import luma_uint8
from jaxrestore.imaging.resize import imresize


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
