"""FID: the Inception port and converter against PyTorch, the statistics against scipy and
the host-side resize against F.interpolate (the fid.jsonl records and their plot: test_fid_records.py).

The test defines the FID Inception-v3 (the TF 2015-12-05 graph as pytorch-fid ports it)
in plain PyTorch, with random weights AND random batch-norm statistics, writes its state
dict as a .pth in pytorch-fid's layout and converts it through the real
``jaxrestore.convert`` command. The Flax network is compiled once (batch 2, 299x299).
"""

from __future__ import annotations


import jax
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from jaxrestore.errors import CheckpointError, DataError
from jaxrestore.metrics.fid import (
    InceptionFeatures,
    feature_statistics,
    fid_of_images,
    frechet_distance,
    resize_bilinear,
)
from jaxrestore.weights.inception import (
    expected_torch_shapes,
    inception_variables_from_torch,
    load_inception_variables,
    random_inception_variables,
)

tnn = torch.nn

# ----------------------------------------------------------------- reference in PyTorch


class BasicConv2d(tnn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg_pool_no_pad(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BlockA(tnn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(avg_pool_no_pad(x)),
        ], 1)


class BlockB(tnn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class BlockC(tnn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(avg_pool_no_pad(x))], 1)


class BlockD(tnn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(tnn.Module):
    def __init__(self, cin, use_max_pool):
        super().__init__()
        self.use_max_pool = use_max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.use_max_pool else avg_pool_no_pad(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class TorchFIDInception(tnn.Module):
    """pytorch-fid's layout and pools; NCHW in [0, 1] at 299x299, scaled to [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = BlockA(192, 32)
        self.Mixed_5c = BlockA(256, 64)
        self.Mixed_5d = BlockA(288, 64)
        self.Mixed_6a = BlockB(288)
        self.Mixed_6b = BlockC(768, 128)
        self.Mixed_6c = BlockC(768, 160)
        self.Mixed_6d = BlockC(768, 160)
        self.Mixed_6e = BlockC(768, 192)
        self.AuxLogits = tnn.Sequential(BasicConv2d(768, 8, 1))  # stand-in, must be ignored
        self.Mixed_7a = BlockD(768)
        self.Mixed_7b = BlockE(1280, use_max_pool=False)
        self.Mixed_7c = BlockE(2048, use_max_pool=True)
        self.fc = tnn.Linear(2048, 1008)  # the TF graph's 1008 classes, ignored

    def forward(self, x):
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3))


def random_torch_inception(seed: int = 0) -> TorchFIDInception:
    """Random convolutions and random batch-norm affine parameters and running statistics."""
    torch.manual_seed(seed)
    model = TorchFIDInception().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.Conv2d):
                tnn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model


def torch_features(model, images01_nchw: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(images01_nchw).double().numpy()


def uint8_images() -> list[np.ndarray]:
    """Images of different sizes: grey HxW, RGB down- and unscaled, grey HxWx1 upscaled."""
    rng = np.random.default_rng(1)
    shapes = [(120, 90), (321, 280, 3), (299, 299, 3), (200, 350, 1)]
    return [rng.integers(0, 256, shape, dtype=np.uint8) for shape in shapes]


def torch_preprocess(image: np.ndarray) -> torch.Tensor:
    """pytorch-fid's input path: uint8 -> [0, 1] float32, grey -> RGB, bilinear to 299x299."""
    x = torch.from_numpy(image.reshape(*image.shape[:2], -1).astype(np.float32) / 255.0)
    x = x.permute(2, 0, 1)[None].expand(1, 3, -1, -1)
    return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from jaxrestore.convert import main

    model = random_torch_inception()
    folder = tmp_path_factory.mktemp("inception")
    pth = folder / "pt_inception-random.pth"
    torch.save(model.state_dict(), pth)
    npz = folder / "inception_fid.npz"
    main(["convert", "inception", f"--input={pth}", f"--output={npz}"])
    return {"model": model, "pth": pth, "npz": npz,
            "extractor": InceptionFeatures(npz, batch_size=2)}


# ------------------------------------------------------------------------------- network


def test_pool3_features_match_pytorch(reference):
    model, extractor = reference["model"], reference["extractor"]
    # Already 299x299 float input: the network and the converted weights alone.
    x = np.random.default_rng(0).uniform(0.0, 1.0, (2, 299, 299, 3)).astype(np.float32)
    expected = torch_features(model, torch.from_numpy(x).permute(0, 3, 1, 2))
    scale = np.abs(expected).max()
    assert expected.std() > 1e-2 * scale  # the features are not all alike (no dead network)
    got = extractor.pool3(x)
    assert got.shape == (2, 2048) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale)

    # uint8 images of other sizes, grey and RGB, 4 images = 2 batches; resized on the host
    # by us and by F.interpolate for PyTorch.
    images = uint8_images()
    expected = torch_features(model, torch.cat([torch_preprocess(im) for im in images]))
    got = extractor(images)
    assert got.shape == (4, 2048)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * np.abs(expected).max())

    # FID between two sets of 3 (each with a zero-padded last batch), against the torch
    # features' FID computed independently: with centred features A (n x d), S1 = A^T A / (n-1)
    # and the nonzero eigenvalues of S1 S2 are those of the n x n matrix A S2 A^T / (n-1).
    fid = fid_of_images(extractor, images[:3], images[1:])
    a, b = expected[:3], expected[1:]
    a_centred = a - a.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = np.linalg.eigvals(a_centred @ s2 @ a_centred.T / 2).real
    fid_torch = (np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.sum(np.sqrt(np.clip(eigenvalues, 0, None))))
    assert fid > 0.01 * np.trace(s1) and fid == pytest.approx(fid_torch, rel=1e-4)


def test_pth_npz_and_state_dict_give_the_same_variables(reference):
    from_npz = reference["extractor"].variables
    from_pth = load_inception_variables(reference["pth"])
    assert jax.tree_util.tree_structure(from_pth) == jax.tree_util.tree_structure(from_npz)
    for a, b in zip(jax.tree_util.tree_leaves(from_pth), jax.tree_util.tree_leaves(from_npz)):
        np.testing.assert_array_equal(a, b)
    state = reference["model"].state_dict()
    conv = state["Mixed_6b.branch7x7_2.conv.weight"].numpy()  # (128, 128, 1, 7) OIHW -> HWIO
    np.testing.assert_array_equal(from_npz["params"]["Mixed_6b"]["branch7x7_2"]["conv"]["kernel"],
                                  conv.transpose(2, 3, 1, 0))
    bn = from_npz["batch_stats"]["Mixed_7c"]["branch_pool"]["bn"]
    np.testing.assert_array_equal(bn["var"], state["Mixed_7c.branch_pool.bn.running_var"].numpy())
    random = random_inception_variables(jax.random.PRNGKey(0))
    assert jax.tree_util.tree_structure(random) == jax.tree_util.tree_structure(from_npz)
    assert [np.shape(v) for v in jax.tree_util.tree_leaves(random)] == \
        [np.shape(v) for v in jax.tree_util.tree_leaves(from_npz)]
    # 94 convolutions, 5 arrays each; fc, AuxLogits and num_batches_tracked are not needed.
    assert len(expected_torch_shapes()) == 470
    assert len(np.load(reference["npz"]).files) == 470


def test_bad_state_dicts_are_named(reference):
    state = {k: v.numpy() for k, v in reference["model"].state_dict().items()}
    del state["Mixed_5b.branch_pool.bn.running_var"]
    with pytest.raises(CheckpointError) as err:
        inception_variables_from_torch(state)
    assert "lacks 1 of its 470 key(s) ('Mixed_5b.branch_pool.bn.running_var')" in str(err.value)
    assert "\n" not in str(err.value)
    state = {k: v.numpy() for k, v in reference["model"].state_dict().items()}
    state["Conv2d_1a_3x3.conv.weight"] = np.zeros((32, 1, 3, 3), np.float32)
    with pytest.raises(CheckpointError) as err:
        inception_variables_from_torch(state)
    assert "Conv2d_1a_3x3.conv.weight (32, 1, 3, 3) != (32, 3, 3, 3)" in str(err.value)


def test_extractor_rejects_bad_images(reference):
    extractor = reference["extractor"]
    with pytest.raises(DataError, match="uint8"):
        extractor([np.zeros((32, 32, 3), np.float32)])
    with pytest.raises(DataError, match="alpha"):
        extractor([np.zeros((32, 32, 4), np.uint8)])
    with pytest.raises(DataError, match="no images"):
        extractor([])
    with pytest.raises(DataError, match="at least 2 images"):
        feature_statistics(np.zeros((1, 2048)))


# -------------------------------------------------------------------------------- resize


@pytest.mark.parametrize("shape,size", [((37, 53, 3), (299, 299)), ((37, 53, 2), (90, 71)),
                                        ((512, 389, 3), (299, 299)), ((400, 300, 1), (123, 250))])
def test_resize_matches_torch_interpolate(shape, size):
    image = np.random.default_rng(2).uniform(0.0, 1.0, shape).astype(np.float32)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    # float64 for the reference: in float32 torch's own sample positions are off by up
    # to size * 6e-8 pixels (2e-5 for 400 pixels); ours are computed in float64.
    expected = F.interpolate(x.double(), size=size, mode="bilinear", align_corners=False)
    got = resize_bilinear(image, size)
    assert got.shape == (*size, shape[2]) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected[0].permute(1, 2, 0).numpy(), rtol=0, atol=1e-7)
    expected32 = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(got, expected32[0].permute(1, 2, 0).numpy(), rtol=0, atol=5e-5)


# ---------------------------------------------------------------------- Fréchet distance


def scipy_frechet(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(3)
    d = 16
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = scipy_frechet(mu1, s1, mu2, s2)
    assert expected > 1
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    # Gaussians with commuting covariances: ||mu1-mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    assert frechet_distance([0, 0], np.diag([4.0, 9.0]), [3, 4], np.diag([1.0, 16.0])) == pytest.approx(27.0)


def test_frechet_distance_of_rank_deficient_covariances():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 16)), rng.normal(0.5, 2.0, size=(5, 16))  # covariances of rank 4
    (mu1, s1), (mu2, s2) = feature_statistics(x), feature_statistics(y)
    value = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-4)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(s1, np.cov(x.T))


def test_frechet_distance_shape_errors():
    with pytest.raises(DataError, match="one d"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(DataError, match="square"):
        frechet_distance(np.zeros(3), np.zeros((3, 2)), np.zeros(3), np.eye(3))
    with pytest.raises(DataError, match="NaN"):
        frechet_distance(np.full(3, np.nan), np.eye(3), np.zeros(3), np.eye(3))


# ---------------------------------------------------------------------- fid.jsonl + plot

