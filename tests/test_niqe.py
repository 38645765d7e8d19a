"""NIQE against a separate, loop-by-loop transcription of Mittal et al.'s MATLAB release, on real images."""

import math

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from conftest import SHARED_DATA
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation import luma_uint8
from jaxrestore.imaging.resize import imresize
from jaxrestore.metrics import niqe as nq


def luma(path) -> np.ndarray:
    return luma_uint8(np.asarray(Image.open(path).convert("RGB"))).astype(np.float64)


# -- the transcription: computequality.m / computefeature.m / estimateaggdparam.m, written with
# explicit loops and padding, sharing nothing with the module but MATLAB's imresize (tested
# against MATLAB's own files in test_resize.py).

def t_window():
    w = [[math.exp(-((i - 3) ** 2 + (j - 3) ** 2) / (2 * (7 / 6) ** 2)) for j in range(7)] for i in range(7)]
    total = sum(map(sum, w))
    return np.array(w) / total


def t_filter(image, window):  # imfilter(..., 'replicate'): correlation with edge padding
    padded = np.pad(image, 3, mode="edge")
    out = np.zeros_like(image)
    for i in range(7):
        for j in range(7):
            out += window[i, j] * padded[i:i + image.shape[0], j:j + image.shape[1]]
    return out


def t_aggd(values):
    values = values.ravel()
    gam = [0.2 + 0.001 * k for k in range(9801)]
    r_gam = [math.gamma(2 / g) ** 2 / (math.gamma(1 / g) * math.gamma(3 / g)) for g in gam]
    left = math.sqrt(np.mean(values[values < 0] ** 2))
    right = math.sqrt(np.mean(values[values > 0] ** 2))
    gammahat = left / right
    rhat = np.mean(np.abs(values)) ** 2 / np.mean(values ** 2)
    rhatnorm = rhat * (gammahat ** 3 + 1) * (gammahat + 1) / (gammahat ** 2 + 1) ** 2
    alpha = gam[int(np.argmin([(r - rhatnorm) ** 2 for r in r_gam]))]
    scale = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, left * scale, right * scale


def t_circshift(block, dr, dc):
    h, w = block.shape
    out = np.empty_like(block)
    for i in range(h):
        for j in range(w):
            out[(i + dr) % h, (j + dc) % w] = block[i, j]
    return out


def t_feature(block):
    alpha, bl, br = t_aggd(block)
    feat = [alpha, (bl + br) / 2]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        alpha, bl, br = t_aggd(block * t_circshift(block, dr, dc))
        feat += [alpha, (br - bl) * math.gamma(2 / alpha) / math.gamma(1 / alpha), bl, br]
    return feat


def t_features(image):
    rows, cols = image.shape[0] // 96, image.shape[1] // 96
    image = image[:rows * 96, :cols * 96]
    scales = []
    for scale in (1, 2):
        mu = t_filter(image, t_window())
        sigma = np.sqrt(np.abs(t_filter(image * image, t_window()) - mu * mu))
        structdis = (image - mu) / (sigma + 1)
        b = 96 // scale
        scales.append([t_feature(structdis[i * b:(i + 1) * b, j * b:(j + 1) * b])
                       for j in range(cols) for i in range(rows)])
        image = imresize(image / 255, 0.5) * 255
    return np.hstack([np.array(s) for s in scales])


def t_quality(image, mu_p, cov_p):
    features = t_features(image)
    mu = features.mean(axis=0)
    centred = features - mu
    cov = centred.T @ centred / (len(features) - 1)
    d = mu_p - mu
    return math.sqrt(d @ np.linalg.pinv((cov_p + cov) / 2) @ d)


@pytest.fixture(scope="module")
def model_from_set5():
    """A pristine model fitted here on Set5's blocks (the published one is not shipped)."""
    features = np.vstack([nq.niqe_features(luma(p)) for p in sorted((SHARED_DATA / "Set5").glob("*.png"))])
    return {"mu": features.mean(axis=0), "cov": np.cov(features, rowvar=False)}


# Images whose every block agrees to rounding. In baboon and lenna a few blocks hold exactly flat
# 7x7 neighbourhoods, whose MSCN coefficient is 0 up to rounding: the rounding's sign decides
# whether it falls in the left or the right half of the AGGD fit, which moves those blocks'
# features by up to 1.7 % (measured) between any two implementations, MATLAB's included, and
# the score by 1e-4 relative.
@pytest.mark.parametrize("name", ["zebra", "barbara", "pepper"])
def test_niqe_equals_the_transcription_on_set14(name, model_from_set5):
    image = luma(SHARED_DATA / "Set14" / f"{name}.png")
    features = nq.niqe_features(image)
    np.testing.assert_allclose(features, t_features(image), rtol=1e-10, atol=1e-12)
    expected = t_quality(image, model_from_set5["mu"], model_from_set5["cov"])
    assert nq.niqe(image, model_from_set5) == pytest.approx(expected, rel=1e-9)
    assert expected > 1.0  # a real distance, not a degenerate zero


def test_transposing_the_image_swaps_the_horizontal_and_vertical_features():
    image = luma(SHARED_DATA / "Set14" / "zebra.png")[:384, :480]
    a, b = nq.niqe_features(image), nq.niqe_features(image.T)
    swap = list(range(36))
    for base in (0, 18):  # per scale: [shape, scale | H 2-5 | V 6-9 | D1 10-13 | D2 14-17]
        swap[base + 2:base + 6], swap[base + 6:base + 10] = swap[base + 6:base + 10], swap[base + 2:base + 6]
    # Blocks are listed column by column, so the transposed image lists them row by row.
    order = np.arange(len(a)).reshape(384 // 96, 480 // 96).T.ravel()
    np.testing.assert_allclose(b[order][:, swap], a, rtol=1e-8, atol=1e-10)


def test_pristine_model_files_in_the_published_layouts(tmp_path):
    mu, cov = np.arange(36.0), np.eye(36)
    savemat(tmp_path / "modelparameters.mat", {"mu_prisparam": mu[None], "cov_prisparam": cov})
    np.savez(tmp_path / "niqe_pris_params.npz", mu_pris_param=mu[None], cov_pris_param=cov)
    savemat(tmp_path / "niqe_image_params.mat", {"pop_mu": mu[None], "pop_cov": cov})
    for name in ("modelparameters.mat", "niqe_pris_params.npz", "niqe_image_params.mat"):
        model = nq.load_pristine_model(tmp_path / name)
        np.testing.assert_array_equal(model["mu"], mu)
        np.testing.assert_array_equal(model["cov"], cov)
    np.savez(tmp_path / "other.npz", weights=mu)
    with pytest.raises(ConfigError, match="holds no NIQE pristine model"):
        nq.load_pristine_model(tmp_path / "other.npz")
    with pytest.raises(ConfigError, match="does not exist"):
        nq.load_pristine_model(tmp_path / "missing.npz")


def test_too_small_or_colour_images_are_refused():
    with pytest.raises(DataError, match="at least 96x96 pixels, got 90x200"):
        nq.niqe_features(np.zeros((90, 200)))
    with pytest.raises(DataError, match="one grey"):
        nq.niqe_features(np.zeros((100, 100, 3)))
    model = {"mu": np.zeros(36), "cov": np.eye(36)}
    texture = np.random.default_rng(0).uniform(0, 255, (150, 191))  # one 96x96 block: no covariance
    with pytest.raises(DataError, match="needs at least two with finite features, got 1 of 1 in a 150x191 image"):
        nq.niqe(texture, model)
    assert np.isfinite(nq.niqe(np.random.default_rng(0).uniform(0, 255, (192, 96)), model))  # two blocks


@pytest.fixture(scope="session")
def basicsr_pristine_model(tmp_path_factory):
    """The pristine model BasicSR distributes on the package index (basicsr 1.4.2's
    basicsr/metrics/niqe_pris_params.npz), fetched from the index as a user would."""
    import subprocess
    import sys
    import tarfile

    folder = tmp_path_factory.mktemp("basicsr")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                             "--no-build-isolation", "basicsr==1.4.2", "-d", str(folder)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    with tarfile.open(next(folder.glob("basicsr-1.4.2.tar.gz"))) as archive:
        member = archive.getmember("basicsr-1.4.2/basicsr/metrics/niqe_pris_params.npz")
        (folder / "niqe_pris_params.npz").write_bytes(archive.extractfile(member).read())
    return folder / "niqe_pris_params.npz"


def test_niqe_of_set14_baboon_is_matlabs(basicsr_pristine_model):
    # MATLAB R2021a's niqe of BasicSR's tests/data/baboon.png is 5.72957338 (BasicSR's docstring of
    # calculate_niqe). Set14's baboon gives 5.72996 here: the same image, as far as a score can
    # tell, within the flat-block rounding (see above; measured 1e-4 relative between float64
    # implementations).
    image = luma(SHARED_DATA / "Set14" / "baboon.png")
    assert nq.niqe(image, nq.load_pristine_model(basicsr_pristine_model)) == pytest.approx(5.72957338, abs=1e-3)


def test_evaluate_reports_niqe_per_folder(basicsr_pristine_model, tmp_path):
    from jaxrestore.evaluate import run

    summary = run(task="sr", baseline="bicubic", checkpoint=None, scale=4, data=[str(SHARED_DATA / "Set5")],
                  output=str(tmp_path / "r.json"), progress=False, metrics=["psnr", "ssim", "niqe"],
                  niqe_model=str(basicsr_pristine_model))
    # The column is the mean of the per-image NIQE of the restorations, recomputed here.
    # (--baseline=bicubic is the published Y-channel protocol: Y of the modcropped HR, down and up.)
    model = nq.load_pristine_model(basicsr_pristine_model)
    values = []
    for path in sorted((SHARED_DATA / "Set5").glob("*.png")):
        y = luma(path)
        y = y[:y.shape[0] // 4 * 4, :y.shape[1] // 4 * 4] / 255.0
        restored = np.clip(np.round(imresize(imresize(y, 0.25), 4) * 255.0), 0, 255)[4:-4, 4:-4]
        values.append(nq.niqe(restored, model))
    assert summary["Set5"]["niqe"] == pytest.approx(np.mean(values), rel=1e-12)
    assert "niqe" in (tmp_path / "r.csv").read_text().splitlines()[0].split(",")


def test_evaluate_refuses_pi_and_niqe_without_a_model(monkeypatch):
    from jaxrestore.evaluation.report import no_reference_metrics

    monkeypatch.delenv("JAXRESTORE_NIQE_MODEL", raising=False)
    message = r"NIQE needs its published pristine model \(PI needs NIQE\): pass --niqe_model=FILE"
    with pytest.raises(ConfigError, match=message):
        no_reference_metrics(["niqe"], None, "sr")
    with pytest.raises(ConfigError, match=message):
        no_reference_metrics(["psnr", "pi"], None, "sr")  # PI without Ma's model: tests/test_ma.py
    with pytest.raises(ConfigError, match="unknown --metrics entry 'brisque'"):
        no_reference_metrics(["brisque"], None, "sr")


def test_table_001_has_the_papers_rows_per_set(tmp_path):
    from jaxrestore.evaluate import run

    summary = run(task="sr", baseline="bicubic", checkpoint=None, scale=4,
                  data=[str(SHARED_DATA / "Set5"), str(SHARED_DATA / "Set14")], output=str(tmp_path / "r.json"),
                  progress=False, table="001")
    lines = (tmp_path / "r.md").read_text().splitlines()
    assert lines[0] == "| | Set5 | Set14 |"
    assert lines[2] == "| | bicubic | bicubic |"
    assert [line.split(" | ")[0] for line in lines[3:]] == ["| PI", "| SSIM", "| PSNR", "| PSD"]
    assert "n/a (needs Ma et al.'s model)" in lines[3]  # never a fake PI
    # The published bicubic rows (the figures tests/test_evaluate.py checks), in the table's rounding.
    assert lines[5] == f"| PSNR | {summary['Set5']['psnr_y']:.2f} | {summary['Set14']['psnr_y']:.2f} |" == \
        "| PSNR | 28.42 | 26.00 |"
    assert lines[6] == f"| PSD | {summary['Set5']['psnr_y_std']:.3f} | {summary['Set14']['psnr_y_std']:.3f} |"
