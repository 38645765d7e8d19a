"""ESRGAN's discriminator against a PyTorch transcription of the authors' Discriminator_VGG_128,
LSRGAN's encoder L (shapes, parameter count, errors) and the registry entries of both."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
import torch

from jaxrestore.errors import ConfigError
from jaxrestore.models import build_discriminator, build_encoder
from jaxrestore.models.esrgan_discriminator import VGGStyleDiscriminator
from jaxrestore.models.lsr_encoder import LSREncoder
from jaxrestore.models.srgan_discriminator import SRGANDiscriminator

nn = torch.nn


class TorchDiscriminatorVGG128(nn.Module):
    """Discriminator_VGG_128 as the ESRGAN code lays it out (written from its description)."""

    def __init__(self, nf=64):
        super().__init__()
        self.conv0_0 = nn.Conv2d(3, nf, 3, 1, 1, bias=True)
        self.conv0_1 = nn.Conv2d(nf, nf, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(nf)
        cin = nf
        for s, m in enumerate((2, 4, 8, 8), start=1):
            setattr(self, f"conv{s}_0", nn.Conv2d(cin, m * nf, 3, 1, 1, bias=False))
            setattr(self, f"bn{s}_0", nn.BatchNorm2d(m * nf))
            setattr(self, f"conv{s}_1", nn.Conv2d(m * nf, m * nf, 4, 2, 1, bias=False))
            setattr(self, f"bn{s}_1", nn.BatchNorm2d(m * nf))
            cin = m * nf
        self.linear1 = nn.Linear(8 * nf * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x):
        x = self.lrelu(self.conv0_0(x))
        x = self.lrelu(self.bn0_1(self.conv0_1(x)))
        for s in range(1, 5):
            for c in (0, 1):
                x = self.lrelu(getattr(self, f"bn{s}_{c}")(getattr(self, f"conv{s}_{c}")(x)))
        x = x.reshape(x.shape[0], -1)
        return self.linear2(self.lrelu(self.linear1(x)))


def flax_variables(torch_model: TorchDiscriminatorVGG128) -> dict:
    """The PyTorch weights as VGGStyleDiscriminator variables (OIHW->HWIO, CHW flatten -> HWC)."""
    sd = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}  # torch updates in place
    params, stats = {}, {}
    for k in sd:
        layer, leaf = k.rsplit(".", 1)
        if layer.startswith("conv") and leaf == "weight":
            params.setdefault(layer, {})["kernel"] = sd[k].transpose(2, 3, 1, 0)
        elif layer.startswith("conv"):
            params.setdefault(layer, {})["bias"] = sd[k]
        elif layer.startswith("bn") and leaf in ("weight", "bias"):
            params.setdefault(layer, {})["scale" if leaf == "weight" else "bias"] = sd[k]
        elif layer.startswith("bn") and leaf in ("running_mean", "running_var"):
            stats.setdefault(layer, {})["mean" if leaf == "running_mean" else "var"] = sd[k]
    w1 = sd["linear1.weight"]
    c = w1.shape[1] // 16
    params["linear1"] = {"kernel": w1.reshape(100, c, 4, 4).transpose(2, 3, 1, 0).reshape(16 * c, 100),
                         "bias": sd["linear1.bias"]}
    params["linear2"] = {"kernel": sd["linear2.weight"].T, "bias": sd["linear2.bias"]}
    return {"params": params, "batch_stats": stats}


def count(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_discriminator_parameter_count_and_shape():
    torch_model = TorchDiscriminatorVGG128()
    torch_params = sum(p.numel() for p in torch_model.parameters())
    torch_buffers = sum(b.numel() for n, b in torch_model.named_buffers() if "running" in n)
    variables = jax.eval_shape(lambda: VGGStyleDiscriminator().init(jax.random.key(0), jnp.zeros((1, 128, 128, 3))))
    assert count(variables["params"]) == torch_params
    assert count(variables["batch_stats"]) == torch_buffers
    print(f"VGGStyleDiscriminator default parameters: {torch_params}")
    out = jax.eval_shape(lambda v: VGGStyleDiscriminator().apply(v, jnp.zeros((3, 128, 128, 3))), variables)
    assert out.shape == (3,)
    assert VGGStyleDiscriminator.conditional is False


@pytest.mark.parametrize("train", [False, True])
def test_discriminator_matches_pytorch(train):
    torch.manual_seed(0)
    torch_model = TorchDiscriminatorVGG128(nf=4)
    with torch.no_grad():
        for name, b in torch_model.named_buffers():
            if "running_mean" in name:
                b.copy_(torch.randn_like(b) * 0.1)
            elif "running_var" in name:
                b.copy_(torch.rand_like(b) + 0.5)
        for m in torch_model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.1)
    variables = flax_variables(torch_model)
    x = np.random.default_rng(1).uniform(size=(3, 128, 128, 3)).astype(np.float32)
    torch_model.train(train)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()[:, 0]
    model = VGGStyleDiscriminator(base_features=4)
    if train:
        got, mutated = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"]))(variables, x)
        # Running means follow PyTorch's momentum 0.1 (running variances differ by n/(n-1):
        # PyTorch keeps the unbiased batch variance, Flax the biased one).
        np.testing.assert_allclose(mutated["batch_stats"]["bn3_1"]["mean"],
                                   torch_model.bn3_1.running_mean.numpy(), rtol=1e-4, atol=1e-5)
    else:
        got = jax.jit(model.apply)(variables, x)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_discriminator_sizes_and_axis_name():
    model = VGGStyleDiscriminator(base_features=2)
    wide = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 64, 3))))
    assert wide["params"]["linear1"]["kernel"].shape == (1 * 2 * 16, 100)  # 1x2 map of 8nf = 16 channels
    with pytest.raises(ConfigError, match="multiples of 32"):
        model.init(jax.random.key(0), jnp.zeros((1, 96, 100, 3)))
    # Batch statistics averaged over a named device axis (inside pmap/shard_map) equal those
    # of the whole batch.
    variables = jax.jit(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3))))()
    synced = VGGStyleDiscriminator(base_features=2, axis_name="batch")
    x = np.random.default_rng(0).uniform(size=(2, 1, 32, 32, 3)).astype(np.float32)
    out, mutated = jax.jit(jax.vmap(lambda xi: synced.apply(variables, xi, train=True, mutable=["batch_stats"]),
                                    axis_name="batch"))(x)
    whole, whole_mut = jax.jit(lambda xs: model.apply(variables, xs, train=True, mutable=["batch_stats"]))(
        x.reshape(2, 32, 32, 3))
    np.testing.assert_allclose(np.asarray(out).reshape(2), whole, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mutated["batch_stats"]["bn4_1"]["mean"][0], whole_mut["batch_stats"]["bn4_1"]["mean"],
                               rtol=1e-5, atol=1e-6)


def vgg16_head_count(blocks: int) -> int:
    channels = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    per_block = [2, 2, 3, 3, 3]
    n, cin = 0, 3
    for cout in channels[:sum(per_block[:blocks])]:
        n += 9 * cin * cout + cout
        cin = cout
    return n


def test_encoder_shape_and_parameter_count():
    model = LSREncoder()
    variables = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 128, 128, 3))))
    out = jax.eval_shape(lambda v: model.apply(v, jnp.zeros((2, 128, 128, 3))), variables)
    assert out.shape == (2, 32, 32, 3)
    # VGG16 blocks 1-3 (no BN), one upscaling conv 256->64, the output conv 64->3.
    assert count(variables["params"]) == vgg16_head_count(3) + (9 * 256 * 64 + 64) + (9 * 64 * 3 + 3)
    assert vgg16_head_count(3) == 1_735_488  # VGG16 conv1_1..conv3_3
    assert sorted(variables["params"]) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2",
                                           "conv3_3", "conv_out", "up1"]


@pytest.mark.parametrize("scale,blocks,ups", [(4, 2, 0), (2, 3, 2), (8, 4, 1)])
def test_encoder_other_configurations(scale, blocks, ups):
    model = LSREncoder(scale=scale, vgg_blocks=blocks, features=8)
    x = np.random.default_rng(0).uniform(size=(1, 16, 32, 3)).astype(np.float32)
    variables = jax.jit(model.init)(jax.random.key(0), x)
    out = jax.jit(model.apply)(variables, x)
    assert out.shape == (1, 16 // scale, 32 // scale, 3)
    assert np.isfinite(np.asarray(out)).all()
    assert sum(k.startswith("up") for k in variables["params"]) == ups


def test_encoder_errors():
    x = jnp.zeros((1, 32, 32, 3))
    with pytest.raises(ConfigError, match="downsample the HR image by 2, less than the scale 4"):
        LSREncoder(scale=4, vgg_blocks=1).init(jax.random.key(0), x)
    with pytest.raises(ConfigError, match="power of 2"):
        LSREncoder(scale=3).init(jax.random.key(0), x)
    with pytest.raises(ConfigError, match="1 to 5 VGG16 blocks"):
        LSREncoder(vgg_blocks=6).init(jax.random.key(0), x)
    with pytest.raises(ConfigError, match="multiples of 8"):
        LSREncoder().init(jax.random.key(0), jnp.zeros((1, 36, 32, 3)))


def test_registry():
    cfg = ml_collections.ConfigDict({"discriminator": "vgg128", "d_features": 16, "encoder": "lsr"})
    d = build_discriminator(cfg)
    assert isinstance(d, VGGStyleDiscriminator) and d.base_features == 16 and d.axis_name is None
    assert build_discriminator(cfg, axis_name="data").axis_name == "data"
    cfg_srgan = ml_collections.ConfigDict({"discriminator": "srgan", "d_features": 8})
    assert isinstance(build_discriminator(cfg_srgan, axis_name="data"), SRGANDiscriminator)  # no such field

    enc = build_encoder(cfg, scale=4)
    assert isinstance(enc, LSREncoder) and (enc.scale, enc.vgg_blocks, enc.features) == (4, 3, 64)
    cfg.encoder_blocks, cfg.encoder_features = 4, 32
    enc = build_encoder(cfg, scale=2)
    assert (enc.scale, enc.vgg_blocks, enc.features) == (2, 4, 32)
    for bad in ({}, {"encoder": "vae"}):
        with pytest.raises(ConfigError, match="config.model.encoder"):
            build_encoder(ml_collections.ConfigDict(bad), scale=4)
