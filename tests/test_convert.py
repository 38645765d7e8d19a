"""VGG19 weights from PyTorch: the converter and loaders against PyTorch's own forward pass.

The test builds torchvision's ``vgg19`` layout in plain PyTorch (torchvision itself is
not needed), writes its state dict as .pth, .safetensors and — through the real
``python -m jaxrestore.convert`` command — .npz, and compares features.
"""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import torch  # noqa: E402  (the test extra installs it; never skipped)
nn = torch.nn

from jaxrestore.errors import CheckpointError  # noqa: E402
from jaxrestore.models.vgg import VGG19  # noqa: E402
from jaxrestore.weights import load_state_dict, load_vgg19_params, vgg19_params_from_torchvision  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# torchvision's cfg "E": channels, "M" for a max pool.
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
             512, 512, 512, 512, "M"]

# Layer name -> index of the torchvision ``features`` module whose output it is.
TORCH_INDEX = {"conv1_2": 2, "relu3_4": 17, "pool4": 27, "conv5_4": 34, "relu5_4": 35}


class TorchVGG19(nn.Module):
    """torchvision.models.vgg19's ``features`` plus a tiny stand-in ``classifier``."""

    def __init__(self):
        super().__init__()
        layers, in_channels = [], 3
        for v in VGG19_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(8, 4))


def run_convert(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, "-m", "jaxrestore.convert", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Random torch VGG19, its features on a random image, and its weights in three formats."""
    torch.manual_seed(0)
    model = TorchVGG19().eval()
    with torch.no_grad():
        for m in model.features:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.normal_(m.bias, std=0.1)  # nonzero, so the bias mapping is checked

    rng = np.random.default_rng(0)
    image = rng.uniform(0.0, 1.0, (2, 32, 32, 3)).astype(np.float32)  # NHWC in [0, 1]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    h = (torch.from_numpy(image).permute(0, 3, 1, 2) - mean) / std
    wanted = {index: name for name, index in TORCH_INDEX.items()}
    features = {}
    with torch.no_grad():
        for index, layer in enumerate(model.features):
            h = layer(h.clone())  # clone: in-place ReLU must not overwrite a stored conv output
            if index in wanted:
                features[wanted[index]] = h.permute(0, 2, 3, 1).numpy().copy()

    folder = tmp_path_factory.mktemp("vgg19")
    state = model.state_dict()
    pth = folder / "vgg19-random.pth"
    torch.save(state, pth)
    from safetensors.torch import save_file

    st = folder / "vgg19-random.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(st))
    npz = folder / "vgg19-converted.npz"
    result = run_convert("vgg19", f"--input={pth}", f"--output={npz}")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    return {
        "image": image,
        "features": features,
        "state": {k: v.numpy() for k, v in state.items()},
        "paths": {"pth": pth, "safetensors": st, "npz": npz},
        "folder": folder,
    }


_apply = jax.jit(lambda params, x: VGG19().apply({"params": params}, x, layers=tuple(TORCH_INDEX)))


@pytest.mark.parametrize("fmt", ["pth", "safetensors", "npz"])
def test_features_match_pytorch(reference, fmt):
    params = load_vgg19_params(str(reference["paths"][fmt]))
    ours = _apply(params, reference["image"])
    for name, expected in reference["features"].items():
        got = np.asarray(ours[name])
        assert got.shape == expected.shape, name
        scale = np.abs(expected).max()
        assert scale > 0, name
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale, err_msg=f"{fmt} {name}")


def test_npz_holds_only_features_in_torchvision_layout(reference):
    arrays = load_state_dict(reference["paths"]["npz"])
    state = reference["state"]
    assert set(arrays) == {k for k in state if k.startswith("features.")}
    assert len(arrays) == 32
    for k, v in arrays.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, state[k])


def test_kernel_layout_and_bare_features_state_dict(reference):
    state = reference["state"]
    params = vgg19_params_from_torchvision(state)
    assert sorted(params) == sorted(f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4))
                                    for i in range(1, n + 1))
    # features.5 is conv2_1 (128 out, 64 in); OIHW -> HWIO.
    np.testing.assert_array_equal(params["conv2_1"]["kernel"], state["features.5.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(params["conv2_1"]["bias"], state["features.5.bias"])
    # The state dict of ``vgg19().features`` alone (keys "N.weight") is accepted too.
    bare = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    params_bare = vgg19_params_from_torchvision(bare)
    np.testing.assert_array_equal(params_bare["conv5_4"]["kernel"], params["conv5_4"]["kernel"])


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_key_is_named(reference):
    state = dict(reference["state"])
    del state["features.34.weight"], state["features.0.bias"]
    with pytest.raises(CheckpointError) as err:
        vgg19_params_from_torchvision(state)
    message = _one_line(err)
    assert "lacks 2 key(s)" in message
    assert "'features.0.bias'" in message and "'features.34.weight'" in message


def test_wrong_shape_is_named(reference):
    state = dict(reference["state"])
    state["features.7.weight"] = np.zeros((128, 64, 3, 3), np.float32)  # conv2_2 expects 128 inputs
    with pytest.raises(CheckpointError) as err:
        vgg19_params_from_torchvision(state)
    message = _one_line(err)
    assert "features.7.weight (128, 64, 3, 3) != (128, 128, 3, 3)" in message


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(CheckpointError) as err:
        load_vgg19_params(str(tmp_path / "vgg19-dcbb9e9d.pth"))
    assert "does not exist" in _one_line(err)
    (tmp_path / "weights.h5").write_bytes(b"x")
    with pytest.raises(CheckpointError) as err:
        load_state_dict(tmp_path / "weights.h5")
    assert "unknown suffix '.h5'" in _one_line(err)


class NotATensor:
    """A custom object that torch.load(weights_only=True) must refuse to unpickle."""


def test_unsafe_pickle_is_refused_not_loaded(tmp_path):
    path = tmp_path / "unsafe.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3), "payload": NotATensor()}, path)
    with pytest.raises(CheckpointError) as err:
        load_state_dict(path)
    message = _one_line(err)
    assert "weights_only=True" in message and "never loaded unsafely" in message


def test_corrupt_pth(tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError) as err:
        load_state_dict(path)
    _one_line(err)


def test_torch_missing_gives_install_hint(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    torch.save({"a": torch.zeros(1)}, path)
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now raises ImportError
    with pytest.raises(CheckpointError) as err:
        load_state_dict(path)
    message = _one_line(err)
    assert "pip install torch" in message and ".npz/.safetensors" in message


def test_wrapper_keys_unwrapped_only_when_asked(tmp_path):
    path = tmp_path / "esrgan-like.pth"
    torch.save({"params": {"w": torch.ones(2)}, "params_ema": {"w": torch.full((2,), 3.0)}}, path)
    with pytest.raises(CheckpointError) as err:
        load_state_dict(path)
    assert "'params', 'params_ema'" in _one_line(err)
    np.testing.assert_array_equal(load_state_dict(path, key="params_ema")["w"], [3.0, 3.0])
    np.testing.assert_array_equal(load_state_dict(path, key=("state_dict", "params"))["w"], [1.0, 1.0])
    with pytest.raises(CheckpointError) as err:
        load_state_dict(path, key="state_dict")
    assert "no 'state_dict' entry" in _one_line(err)
    # Flat formats: the key selects a "key." prefix.
    flat = tmp_path / "flat.npz"
    np.savez(flat, **{"params_ema.w": np.ones(2), "other": np.zeros(1)})
    assert list(load_state_dict(flat, key="params_ema")) == ["w"]


def convert_in_process(capsys, *args: str) -> tuple[int, str]:
    """Runs the CLI's main under run_cli in this process; returns (exit code, stderr)."""
    from jaxrestore.convert import main
    from jaxrestore.runtime.cli import run_cli

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main(["convert", *args]))
    return exit_info.value.code, capsys.readouterr().err


def test_cli_errors_exit_2_with_one_line(reference, tmp_path, capsys):
    # The real command: exit status 2 and one line on stderr, no traceback.
    missing = run_convert("vgg19", f"--input={tmp_path / 'nope.pth'}", f"--output={tmp_path / 'o.npz'}")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("error: ")
    assert "does not exist" in missing.stderr

    # A wrong-model state dict: the error names the key, and no output file is left behind.
    bad = tmp_path / "not-vgg.npz"
    np.savez(bad, **{"features.0.weight": np.zeros((64, 1, 3, 3), np.float32)})
    out = tmp_path / "out.npz"
    code, stderr = convert_in_process(capsys, "vgg19", f"--input={bad}", f"--output={out}")
    assert code == 2 and stderr.count("\n") == 1 and "lacks" in stderr
    assert not out.exists() and os.listdir(tmp_path) == ["not-vgg.npz"]

    code, stderr = convert_in_process(capsys, "resnet50", f"--input={bad}", f"--output={out}")
    assert code == 2 and stderr.count("\n") == 1 and "one of: vgg19" in stderr

    code, stderr = convert_in_process(capsys, "vgg19", f"--inptu={bad}", f"--output={out}")
    assert code == 2 and stderr.count("\n") == 1 and "--help" in stderr

    # An existing output is not replaced without --overwrite.
    existing = reference["paths"]["npz"]
    code, stderr = convert_in_process(capsys, "vgg19", f"--input={reference['paths']['pth']}", f"--output={existing}")
    assert code == 2 and "--overwrite" in stderr

    # With --overwrite an existing output is replaced (atomically, no temp file left).
    from jaxrestore.convert import main

    target = tmp_path / "again.npz"
    target.write_bytes(b"old")
    main(["convert", "vgg19", f"--input={reference['paths']['npz']}", f"--output={target}", "--overwrite"])
    assert "wrote" in capsys.readouterr().out
    assert len(load_state_dict(target)) == 32
    assert sorted(os.listdir(tmp_path)) == ["again.npz", "not-vgg.npz"]
