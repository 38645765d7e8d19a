"""Ma et al.'s features against a separate, loop-by-loop transcription of their MATLAB release
(feature_all.m, block_dct.m and its helpers, global_gsm.m, matlabPyrTools' buildSFpyr,
DIIVINE's norm_sender_normalized.m and ssim_index_new.m), on real image crops; the regression
forests and PI against a recursive evaluation of trees the test builds and stores in the
release's model.mat layout."""

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from conftest import SHARED_DATA
from ma_reference import GAMS, R_GAMS, luma, t_feature_all
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.resize import imresize
from jaxrestore.metrics import ma
from jaxrestore.metrics import niqe as nq


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
