"""PGGANGenerator and the pggan converter against PyTorch's forward pass.

The test writes the generator of ptrblck/prog_gans_pytorch_inference in PyTorch from its
description (pixel norm -> [nearest x2] -> bias-free conv -> wscale -> leaky ReLU 0.2,
blocks ``features.N``, 1x1 ``output`` to RGB), with a resolution and width argument so the
same definition gives the 1024x1024 network's state dict and small ones to run. Random
weights, wscale scales and biases go through a .pth (and ``python -m jaxrestore.convert
pggan``) into our module. Tolerance: every block starts with a pixel norm, so its input
has unit RMS and float32 rounding of a conv sum over at most 8,192 terms (4x4x512) stays
near 1e-5 relative without compounding; outputs are O(1), so 1e-4 absolute is float32
agreement, and a mis-mapped weight or a flipped kernel is off by O(1).
"""

from __future__ import annotations

from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxrestore.convert import main as convert_main
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.models.pggan import (PGGANGenerator, default_widths, make_generator_fn, wscale_scale_mask,
                                     wscale_scale_paths)
from jaxrestore.weights.pggan import (build_pggan, expected_shapes, load_pggan_variables,
                                      pggan_variables_from_torch)

nn = torch.nn
TOLERANCE = 1e-4
FULL_SIZE_PARAMETERS = 23_071_526


# -- the port's Generator in PyTorch, with a resolution argument --------------------------

class TorchPixelNorm(nn.Module):
    def forward(self, x):
        return x / torch.sqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class TorchWScale(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.b = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.scale + self.b[None, :, None, None]


class TorchBlock(nn.Module):
    def __init__(self, cin, cout, k, pad, upsample, activation=True):
        super().__init__()
        self.norm = TorchPixelNorm()
        self.upsample, self.activation = upsample, activation
        self.conv = nn.Conv2d(cin, cout, k, 1, pad, bias=False)
        self.wscale = TorchWScale(cout)

    def forward(self, x):
        x = self.norm(x)
        if self.upsample:
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = self.wscale(self.conv(x))
        return nn.functional.leaky_relu(x, 0.2) if self.activation else x


class TorchPGGAN(nn.Module):
    """The port's Generator; resolution=1024 and widths=None give its exact key set."""

    def __init__(self, resolution=1024, latent_dim=512, widths=None):
        super().__init__()
        w = default_widths(resolution) if widths is None else widths
        blocks = [TorchBlock(latent_dim, w[0], 4, 3, False), TorchBlock(w[0], w[0], 3, 1, False)]
        for level in range(1, len(w)):
            blocks += [TorchBlock(w[level - 1], w[level], 3, 1, True), TorchBlock(w[level], w[level], 3, 1, False)]
        self.features = nn.Sequential(*blocks)
        self.output = TorchBlock(w[-1], 3, 1, 0, False, activation=False)

    def forward(self, z):  # z: (N, latent_dim, 1, 1) as in the port
        return self.output(self.features(z))


def random_torch_pggan(seed, **arch):
    """Seeded random weights: N(0, 1) kernels (equalised learning rate), He-sized scales
    times U(0.5, 1.5) (one negative), N(0, 0.3) biases, so every leaf matters."""
    torch.manual_seed(seed)
    model = TorchPGGAN(**arch).eval()
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if name.endswith("conv.weight"):
                p.normal_()
            elif name.endswith("scale"):
                fan_in = np.prod(model.get_submodule(name.rsplit(".", 2)[0]).conv.weight.shape[1:])
                p.fill_(float(np.sqrt(2.0 / fan_in) * np.random.default_rng(seed + i).uniform(0.5, 1.5)))
            else:
                p.normal_(std=0.3)
        model.features[1].wscale.scale.neg_()
    return model


def torch_images(model, z):
    with torch.no_grad():
        out = model(torch.from_numpy(z)[:, :, None, None])
    return out.numpy().transpose(0, 2, 3, 1)


def ours(variables, arch, z):
    return np.asarray(jax.jit(make_generator_fn(build_pggan(arch)))(variables, jnp.asarray(z)))


def latents(n, dim, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


# -- forward passes against PyTorch --------------------------------------------------------

def test_matches_torch_at_16x16_with_the_1024_networks_widths(tmp_path):
    model = random_torch_pggan(0, resolution=16)
    path = tmp_path / "pggan16.pth"
    torch.save(model.state_dict(), path)
    variables, arch, where = load_pggan_variables(str(path))
    assert arch == {"resolution": 16, "latent_dim": 512, "widths": (512, 512, 512)}
    assert where == "features layout"
    z = latents(2, 512)
    expected = torch_images(model, z)
    got = ours(variables, arch, z)
    assert got.shape == (2, 16, 16, 3)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert np.abs(expected).max() > 0.5  # a real signal, not a vanishing one
    # The first pixel norm makes the output independent of |z| (the port's z has no other normalisation).
    np.testing.assert_allclose(ours(variables, arch, 3.0 * z), got, atol=TOLERANCE)


def test_narrow_64x64_through_the_convert_command_and_the_first_layout(tmp_path):
    arch = {"resolution": 64, "latent_dim": 24, "widths": (32, 32, 16, 8, 4)}
    model = random_torch_pggan(1, **arch)
    pth, npz = tmp_path / "narrow.pth", tmp_path / "narrow.npz"
    torch.save(model.state_dict(), pth)
    convert_main(["convert", "pggan", f"--input={pth}", f"--output={npz}"])
    variables, read_arch, _ = load_pggan_variables(str(npz))  # torch-free file
    assert read_arch == arch
    z = latents(3, 24, seed=1)
    expected = torch_images(model, z)
    assert np.abs(ours(variables, read_arch, z) - expected).max() <= TOLERANCE

    # The port's first model.py: in_layer.{1,2}, upsampling_layers.M (= features.M+1), out_layer.{1,2}.
    old = OrderedDict()
    for key, value in model.state_dict().items():
        if key.startswith("features.0."):
            key = {"conv.weight": "in_layer.1.weight"}.get(key[11:], "in_layer.2." + key.rsplit(".", 1)[1])
        elif key.startswith("features."):
            n, rest = key[9:].split(".", 1)
            key = f"upsampling_layers.{int(n) - 1}.{rest}"
        else:
            key = "out_layer.1.weight" if key.endswith("conv.weight") else "out_layer.2." + key.rsplit(".", 1)[1]
        old[key] = value
    old_variables, old_arch, layout = pggan_variables_from_torch({k: v.numpy() for k, v in old.items()})
    assert layout == "in_layer" and old_arch == arch
    jax.tree.map(np.testing.assert_array_equal, old_variables, variables)


# -- the full-size network, by shapes only -------------------------------------------------

def test_full_size_parameter_count_and_key_set():
    shapes = jax.eval_shape(PGGANGenerator().init, jax.random.key(0), jnp.zeros((1, 512)))
    assert sum(leaf.size for leaf in jax.tree.leaves(shapes)) == FULL_SIZE_PARAMETERS
    assert jax.eval_shape(PGGANGenerator().apply, shapes, jnp.zeros((2, 512))).shape == (2, 1024, 1024, 3)

    model = TorchPGGAN()
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes()
    assert len(state) == 57 and sum(v.numel() for v in state.values()) == FULL_SIZE_PARAMETERS
    variables, arch, layout = pggan_variables_from_torch({k: v.numpy() for k, v in state.items()})
    assert arch == {"resolution": 1024, "latent_dim": 512, "widths": default_widths(1024)}
    assert build_pggan(arch) == PGGANGenerator()
    assert jax.tree.map(np.shape, variables) == jax.tree.map(lambda s: s.shape, shapes)
    paths = wscale_scale_paths(variables["params"])
    assert len(paths) == 19 and paths[0] == ("features_0", "wscale", "scale") and paths[-1][0] == "output"


def test_gradients_reach_every_leaf_and_the_scale_mask():
    arch = {"resolution": 8, "latent_dim": 8, "widths": (8, 4)}
    variables, _, _ = pggan_variables_from_torch(
        {k: v.numpy() for k, v in random_torch_pggan(2, **arch).state_dict().items()})
    generator_fn = make_generator_fn(build_pggan(arch))
    z = jnp.asarray(latents(2, 8, seed=2))
    grads = jax.grad(lambda v, zz: jnp.sum(jnp.sin(generator_fn(v, zz))), argnums=(0, 1))(variables, z)
    assert all(np.abs(g).max() > 0 for g in jax.tree.leaves(grads))
    mask = wscale_scale_mask(variables)
    assert sum(jax.tree.leaves(mask)) == 5 and mask["params"]["output"]["wscale"] == {"b": False, "scale": True}


# -- errors --------------------------------------------------------------------------------

def _one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_foreign_state_dict_is_refused_in_one_sentence(tmp_path):
    rrdbnet = {"conv_first.weight": np.zeros((64, 3, 3, 3), np.float32),
               "conv_first.bias": np.zeros(64, np.float32),
               "body.0.rdb1.conv1.weight": np.zeros((32, 64, 3, 3), np.float32)}
    with pytest.raises(ConfigError) as err:
        pggan_variables_from_torch(rrdbnet)
    message = _one_line(err)
    assert isinstance(err.value, CheckpointError)
    assert "not a PGGAN generator" in message and "'body.0.rdb1.conv1.weight'" in message
    assert "'features.0.conv.weight'" in message

    pth = tmp_path / "rrdbnet.pth"
    torch.save({k: torch.from_numpy(v) for k, v in rrdbnet.items()}, pth)
    with pytest.raises(ConfigError, match="is not a PGGAN generator state dict"):
        convert_main(["convert", "pggan", f"--input={pth}", f"--output={tmp_path / 'x.npz'}"])
    assert not (tmp_path / "x.npz").exists()


def test_damaged_pggan_state_dict_names_the_keys():
    model = random_torch_pggan(3, resolution=8, latent_dim=8, widths=(8, 4))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    del state["features.2.wscale.b"]
    state["features.3.conv.weight"] = np.zeros((4, 4, 1, 1), np.float32)
    state["features.3.extra"] = np.zeros(1, np.float32)
    with pytest.raises(ConfigError) as err:
        pggan_variables_from_torch(state, source="'damaged.pth'")
    message = _one_line(err)
    for part in ("'damaged.pth' (PGGAN features layout, 8x8", "'features.3.extra'", "'features.2.wscale.b'",
                 "features.3.conv.weight (4, 4, 1, 1) != (4, 4, 3, 3)"):
        assert part in message
