"""RRDBNet (ESRGAN's generator) and the esrgan converter against PyTorch's forward pass.

The test writes RRDBNet in PyTorch twice from the paper's description: once as the
ESRGAN authors' original nested ``model`` Sequential (keys ``model.1.sub.N.RDB1.conv1.0``),
once as BasicSR's module (keys ``body.N.rdb1.conv1``, renamed to the ESRGAN repository's
later ``RRDB_trunk.N.RDB1.conv1`` for the third layout). Random state dicts go through
``python -m jaxrestore.convert esrgan`` into run directories, which load_restorer must
turn into the same function as PyTorch's.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxrestore.runtime import checkpoints
from jaxrestore.convert import main as convert_main
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.training.runs import load_restorer
from jaxrestore.models import build_generator
from jaxrestore.models.rrdbnet import RRDBNet

nn = torch.nn
TINY = {"num_blocks": 2, "features": 16, "growth": 8}


# -- PyTorch RRDBNet, BasicSR layout --------------------------------------------------------

class TorchRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for k in range(1, 6):
            setattr(self, f"conv{k}", nn.Conv2d(nf + (k - 1) * gc, gc if k < 5 else nf, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x):
        feats = [x]
        for k in range(1, 5):
            feats.append(self.lrelu(getattr(self, f"conv{k}")(torch.cat(feats, 1))))
        return x + 0.2 * self.conv5(torch.cat(feats, 1))


class TorchRRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = TorchRDB(nf, gc), TorchRDB(nf, gc), TorchRDB(nf, gc)

    def forward(self, x):
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class TorchRRDBNetBasicSR(nn.Module):
    def __init__(self, num_blocks=23, features=64, growth=32, scale=4):
        super().__init__()
        nf = features
        self.stages = {1: 0, 2: 1, 4: 2}[scale]
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*[TorchRRDB(nf, growth) for _ in range(num_blocks)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        for u in range(1, self.stages + 1):
            setattr(self, f"conv_up{u}", nn.Conv2d(nf, nf, 3, 1, 1))
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x):
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for u in range(1, self.stages + 1):
            feat = self.lrelu(getattr(self, f"conv_up{u}")(nn.functional.interpolate(feat, scale_factor=2,
                                                                                    mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


# -- PyTorch RRDBNet, the original ESRGAN layout (one nested Sequential) ---------------------

class TorchRDBOld(nn.Module):
    """conv1..conv4 are Sequential(conv, LeakyReLU), conv5 is Sequential(conv): keys convK.0.*."""

    def __init__(self, nf, gc):
        super().__init__()
        for k in range(1, 6):
            c = nn.Conv2d(nf + (k - 1) * gc, gc if k < 5 else nf, 3, 1, 1)
            setattr(self, f"conv{k}", nn.Sequential(c, nn.LeakyReLU(0.2)) if k < 5 else nn.Sequential(c))

    def forward(self, x):
        feats = [x]
        for k in range(1, 5):
            feats.append(getattr(self, f"conv{k}")(torch.cat(feats, 1)))
        return x + 0.2 * self.conv5(torch.cat(feats, 1))


class TorchRRDBOld(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = TorchRDBOld(nf, gc), TorchRDBOld(nf, gc), TorchRDBOld(nf, gc)

    def forward(self, x):
        return x + 0.2 * self.RDB3(self.RDB2(self.RDB1(x)))


class Shortcut(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def forward(self, x):
        return x + self.sub(x)


class TorchRRDBNetOld(nn.Module):
    def __init__(self, num_blocks, features, growth, scale=4):
        super().__init__()
        nf = features
        layers = [nn.Conv2d(3, nf, 3, 1, 1),
                  Shortcut(nn.Sequential(*[TorchRRDBOld(nf, growth) for _ in range(num_blocks)],
                                         nn.Conv2d(nf, nf, 3, 1, 1)))]
        for _ in range({1: 0, 2: 1, 4: 2}[scale]):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(nf, 3, 3, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def basicsr_to_esrgan(state: dict) -> dict:
    """BasicSR keys -> the ESRGAN repository's later RRDBNet_arch.py keys (same network)."""
    out = {}
    for k, v in state.items():
        k = k.replace("body.", "RRDB_trunk.", 1) if k.startswith("body.") else k
        for a, b in (("rdb", "RDB"), ("conv_body", "trunk_conv"), ("conv_up", "upconv"), ("conv_hr", "HRconv")):
            k = k.replace(a, b)
        out[k] = v
    return out


class NotATensor:
    """A pickled object that torch.load(weights_only=True) must refuse."""


def randomise(model: nn.Module, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * (0.5 / np.sqrt(p[0].numel()) if p.ndim > 1 else 0.1))
    return model.eval()


def torch_forward(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()


def convert(*args: str) -> None:
    convert_main(["convert", "esrgan", *args])


def assert_close(got, expected):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale)


@pytest.fixture(scope="module")
def lr_image():
    return np.random.default_rng(0).uniform(0.0, 1.0, (2, 12, 10, 3)).astype(np.float32)


# -- the Flax module ------------------------------------------------------------------------

def test_default_parameter_count_equals_pytorch():
    torch_count = sum(p.numel() for p in TorchRRDBNetBasicSR().parameters())
    variables = jax.eval_shape(lambda: RRDBNet().init(jax.random.key(0), jnp.zeros((1, 8, 8, 3))))
    ours = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(variables))
    assert set(variables) == {"params"}
    assert ours == torch_count
    print(f"RRDBNet default parameters: {ours}")


@pytest.mark.parametrize("scale,stages", [(1, 0), (2, 1), (4, 2)])
def test_scales(scale, stages):
    model = RRDBNet(scale=scale, num_blocks=1, features=8, growth=4)
    variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 6, 6, 3)))
    assert jax.jit(model.apply)(variables, jnp.zeros((1, 6, 5, 3))).shape == (1, 6 * scale, 5 * scale, 3)
    assert sum(k.startswith("conv_up") for k in variables["params"]) == stages


def test_bad_scale_and_registry():
    with pytest.raises(ConfigError, match="scale 1, 2 or 4"):
        RRDBNet(scale=3).init(jax.random.key(0), jnp.zeros((1, 6, 6, 3)))
    import ml_collections

    cfg = ml_collections.ConfigDict({"generator": "rrdbnet", "num_blocks": 3, "features": 16})
    model = build_generator(cfg, scale=2)
    assert (model.scale, model.num_blocks, model.features, model.growth) == (2, 3, 16, 32)
    cfg.growth = 8
    assert build_generator(cfg, scale=4).growth == 8


def test_dense_convs_start_small():
    """conv1..conv5 of the dense blocks start at 0.1 x He-normal (ESRGAN's smaller initialisation)."""
    variables = jax.jit(RRDBNet(num_blocks=4, features=64, growth=32).init)(jax.random.key(0), jnp.zeros((1, 4, 4, 3)))
    kernel = np.asarray(variables["params"]["block0"]["rdb1"]["conv2"]["kernel"])  # fan_in 9 * 96
    kernels = [np.asarray(variables["params"][f"block{i}"][f"rdb{j}"]["conv2"]["kernel"])
               for i in range(4) for j in range(1, 4)]
    std = np.concatenate([k.ravel() for k in kernels]).std()
    assert kernel.shape == (3, 3, 96, 32)
    np.testing.assert_allclose(std, 0.1 * np.sqrt(2.0 / (9 * 96)), rtol=0.05)


# -- the converter: three layouts, wrappers ---------------------------------------------------

@pytest.mark.parametrize("layout", ["esrgan_old", "esrgan", "basicsr"])
def test_converted_run_matches_pytorch(tmp_path, lr_image, layout):
    if layout == "esrgan_old":
        model = randomise(TorchRRDBNetOld(**TINY), seed=1)
        state = model.state_dict()
        assert "model.1.sub.0.RDB1.conv1.0.weight" in state and "model.1.sub.2.weight" in state
        assert "model.1.sub.1.RDB3.conv5.0.bias" in state
        assert {k.rsplit(".", 1)[0] for k in state if not k.startswith("model.1.")} == {
            "model.0", "model.3", "model.6", "model.8", "model.10"}
    else:
        model = randomise(TorchRRDBNetBasicSR(**TINY), seed=2)
        state = model.state_dict()
        if layout == "esrgan":
            state = basicsr_to_esrgan(state)
            assert "RRDB_trunk.1.RDB3.conv5.weight" in state and "upconv2.bias" in state
    pth = tmp_path / "weights.pth"
    torch.save(state, pth)
    out = tmp_path / "run"
    convert(f"--input={pth}", f"--output={out}")

    config = json.loads((out / "config.json").read_text())
    assert config == {"task": {"name": "sr", "scale": 4},
                      "model": {"generator": "rrdbnet", "num_blocks": 2, "features": 16, "growth": 8}}
    variables, step, which = checkpoints.load_generator_variables(out)
    assert (step, which) == (0, "latest") and set(variables) == {"params"}
    np.testing.assert_array_equal(  # OIHW -> HWIO
        variables["params"]["block1"]["rdb2"]["conv3"]["kernel"],
        state[{"esrgan_old": "model.1.sub.1.RDB2.conv3.0.weight", "esrgan": "RRDB_trunk.1.RDB2.conv3.weight",
               "basicsr": "body.1.rdb2.conv3.weight"}[layout]].numpy().transpose(2, 3, 1, 0))

    restorer = load_restorer(out)
    assert (restorer.task, restorer.scale) == ("sr", 4)
    assert_close(restorer.apply(lr_image), torch_forward(model, lr_image))
    assert sorted(os.listdir(tmp_path)) == ["run", "weights.pth"]  # no temporary directory left

    # esrgan_export writes the run back in the same layout: PyTorch's own state dict, key for key.
    for suffix in (".safetensors", ".pth"):
        exported = tmp_path / f"exported{suffix}"
        convert_main(["convert", "esrgan_export", f"--input={out}", f"--output={exported}", f"--layout={layout}"])
        if suffix == ".pth":
            back = {k: v.numpy() for k, v in torch.load(exported, weights_only=True).items()}
        else:
            from safetensors.numpy import load_file
            back = load_file(str(exported))
        assert sorted(back) == sorted(state)
        for key, value in state.items():
            np.testing.assert_array_equal(back[key], value.numpy(), err_msg=key)


def test_export_refuses_other_generators_and_existing_files(tmp_path, trained_run):
    from jaxrestore.convert import export_esrgan

    with pytest.raises(CheckpointError, match="the generator is not an RRDBNet"):
        export_esrgan(str(trained_run), str(tmp_path / "g.safetensors"))  # an SRResNet run
    with pytest.raises(ConfigError, match="must end in .safetensors or .pth"):
        export_esrgan(str(trained_run), str(tmp_path / "g.npz"))
    (tmp_path / "g.safetensors").write_text("keep")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        export_esrgan(str(trained_run), str(tmp_path / "g.safetensors"))
    assert (tmp_path / "g.safetensors").read_text() == "keep"


@pytest.mark.parametrize("scale", [1, 2])
def test_other_scales_of_original_layout(tmp_path, lr_image, scale):
    model = randomise(TorchRRDBNetOld(num_blocks=1, features=8, growth=4, scale=scale), seed=3)
    torch.save(model.state_dict(), tmp_path / "w.pth")
    convert(f"--input={tmp_path / 'w.pth'}", f"--output={tmp_path / 'run'}")
    restorer = load_restorer(tmp_path / "run")
    assert restorer.scale == scale
    assert_close(restorer.apply(lr_image), torch_forward(model, lr_image))


def test_basicsr_wrapper_prefers_params_ema(tmp_path, lr_image, capsys):
    ema = randomise(TorchRRDBNetBasicSR(**TINY), seed=4)
    raw = randomise(TorchRRDBNetBasicSR(**TINY), seed=5)
    pth = tmp_path / "net_g.pth"
    torch.save({"params": raw.state_dict(), "params_ema": ema.state_dict()}, pth)
    convert(f"--input={pth}", f"--output={tmp_path / 'ema'}")
    assert "'params_ema' entry" in capsys.readouterr().out
    convert(f"--input={pth}", f"--output={tmp_path / 'raw'}", "--key=params")
    x = lr_image[:1]
    ours_ema, ours_raw = (load_restorer(tmp_path / name).apply(x) for name in ("ema", "raw"))
    assert_close(ours_ema, torch_forward(ema, x))
    assert_close(ours_raw, torch_forward(raw, x))
    assert np.abs(np.asarray(ours_ema) - np.asarray(ours_raw)).max() > 1e-2  # really different weights

    only_params = tmp_path / "params_only.pth"
    torch.save({"params": raw.state_dict()}, only_params)
    convert(f"--input={only_params}", f"--output={tmp_path / 'fallback'}")
    assert_close(load_restorer(tmp_path / "fallback").apply(x), torch_forward(raw, x))
    with pytest.raises(CheckpointError, match="no 'state_dict' entry"):
        convert(f"--input={pth}", f"--output={tmp_path / 'nope'}", "--key=state_dict")
    with pytest.raises(ConfigError, match="esrgan converter only"):
        convert_main(["convert", "vgg19", f"--input={pth}", f"--output={tmp_path / 'v.npz'}", "--key=params"])


# -- errors --------------------------------------------------------------------------------

def _one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_unrelated_keys_are_named(tmp_path):
    pth = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(4, 3, 3, 3), "features.0.bias": torch.zeros(4)}, pth)
    with pytest.raises(CheckpointError) as err:
        convert(f"--input={pth}", f"--output={tmp_path / 'run'}")
    message = _one_line(err)
    assert "'features.0.bias', 'features.0.weight'" in message and "not an ESRGAN RRDBNet" in message
    assert not (tmp_path / "run").exists()


def test_extra_missing_and_misshaped_keys_are_named(tmp_path):
    state = TorchRRDBNetBasicSR(**TINY).state_dict()
    cases = {
        "extra": ({**state, "discriminator.weight": torch.zeros(1)}, "'discriminator.weight'"),
        "missing": ({k: v for k, v in state.items() if k != "conv_hr.bias"}, "lacks 1 key(s) ('conv_hr.bias')"),
        "shape": ({**state, "conv_last.bias": torch.zeros(4)}, "conv_last.bias (4,) != (3,)"),
    }
    for name, (sd, expected) in cases.items():
        torch.save(sd, tmp_path / f"{name}.pth")
        with pytest.raises(CheckpointError) as err:
            convert(f"--input={tmp_path / f'{name}.pth'}", f"--output={tmp_path / name}")
        assert expected in _one_line(err), name
        assert not (tmp_path / name).exists()


def test_pixel_unshuffle_variant_is_refused(tmp_path):
    model = TorchRRDBNetBasicSR(**TINY)
    model.conv_first = nn.Conv2d(12, 16, 3, 1, 1)
    torch.save({"params_ema": model.state_dict()}, tmp_path / "x2.pth")
    with pytest.raises(CheckpointError, match="pixel-unshuffles"):
        convert(f"--input={tmp_path / 'x2.pth'}", f"--output={tmp_path / 'run'}")


def test_unsafe_pickle_is_refused_and_nothing_written(tmp_path):
    pth = tmp_path / "unsafe.pth"
    torch.save({"conv_first.weight": torch.zeros(4, 3, 3, 3), "payload": NotATensor()}, pth)
    with pytest.raises(CheckpointError) as err:
        convert(f"--input={pth}", f"--output={tmp_path / 'run'}")
    message = _one_line(err)
    assert "weights_only=True" in message and "never loaded unsafely" in message
    assert sorted(os.listdir(tmp_path)) == ["unsafe.pth"]


def test_existing_output_needs_overwrite_and_failed_write_keeps_it(tmp_path, lr_image, monkeypatch):
    first = randomise(TorchRRDBNetBasicSR(**TINY), seed=6)
    second = randomise(TorchRRDBNetBasicSR(**TINY), seed=7)
    torch.save(first.state_dict(), tmp_path / "a.pth")
    torch.save(second.state_dict(), tmp_path / "b.pth")
    out = tmp_path / "run"
    out.mkdir()  # an empty directory is fine
    convert(f"--input={tmp_path / 'a.pth'}", f"--output={out}")
    with pytest.raises(CheckpointError, match="already exists and is not empty; remove it or pass --overwrite"):
        convert(f"--input={tmp_path / 'b.pth'}", f"--output={out}")

    # A failure after orbax wrote the new checkpoint leaves the old run as it was, and no temporary.
    def broken_close(self):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(checkpoints.ocp.CheckpointManager, "close", broken_close)
        with pytest.raises(OSError, match="disk full"):
            convert(f"--input={tmp_path / 'b.pth'}", f"--output={out}", "--overwrite")
    assert sorted(os.listdir(tmp_path)) == ["a.pth", "b.pth", "run"]
    x = lr_image[:1]
    assert_close(load_restorer(out).apply(x), torch_forward(first, x))

    convert(f"--input={tmp_path / 'b.pth'}", f"--output={out}", "--overwrite")
    assert sorted(os.listdir(tmp_path)) == ["a.pth", "b.pth", "run"]
    assert_close(load_restorer(out).apply(x), torch_forward(second, x))
