"""The PyTorch side of ``benchmark --compare=torch`` times the same networks as the JAX side."""

import subprocess
import sys

import jax
import numpy as np
import pytest
import torch

from conftest import REPO
from jaxrestore.benchmarks import torch_steps as bt
from jaxrestore.benchmarks.training import random_batch
from jaxrestore.training.methods import build_method


def flax_count(params) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))


@pytest.mark.parametrize("name,overrides,kind", [
    ("srresnet", {}, "joint_fidelity"),
    ("srgan", {"loss.fidelity": "vgg", "loss.vgg_random_init": True}, "joint_gan"),
    ("csrgan", {}, "constrained"),
    ("rrdbnet_psnr", {}, "l1"),
    ("lsrgan", {"loss.perceptual": "vgg", "loss.vgg_random_init": True}, "esrgan"),
])
def test_torch_networks_have_the_flax_networks_parameters_and_a_step_trains_them(make_config, name, overrides,
                                                                                 kind):
    patch = 32  # ESRGAN's discriminator takes multiples of 32
    config = make_config(name, **{"data.patch_size": patch, "model.num_blocks": 2, **overrides})
    batch = random_batch(config, jax.random.key(0))
    state = build_method(config).init(jax.random.key(0), batch)
    torch.manual_seed(0)
    step = bt.TorchStep(config, patch=patch)
    assert step.kind == kind
    nets = step.networks()
    flax_nets = {"g": state.g, "d": state.d, "l": getattr(state, "l", None)}
    assert set(nets) == {k for k, v in flax_nets.items() if v is not None}
    for k, net in nets.items():
        assert bt.parameter_count(net) == flax_count(flax_nets[k].params), k
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
    lr_images, hr = (torch.from_numpy(np.array(batch[k])).permute(0, 3, 1, 2) for k in ("degraded", "target"))
    step(lr_images, hr)
    for k, net in nets.items():  # every network the step trains has moved (cSRGAN's G: theta_1 or theta_2)
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k


@pytest.mark.parametrize("layer,convs,pools,last", [("relu5_4", 16, 4, torch.nn.ReLU),
                                                    ("conv5_4", 16, 4, torch.nn.Conv2d),
                                                    ("conv3_4", 8, 2, torch.nn.Conv2d)])
def test_torch_vgg_stops_at_the_named_layer(layer, convs, pools, last):
    features = bt.VGG19Features(layer).features
    assert sum(isinstance(m, torch.nn.Conv2d) for m in features) == convs
    assert isinstance(features[-1], last)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in features) == pools


def test_compare_with_an_unknown_step_is_one_line():
    result = subprocess.run([sys.executable, "-m", "jaxrestore.benchmark", "--compare=torch",
                             "--compare_steps=dcgan", "--compare_layers=false", "--restore_size=0"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: unknown step 'dcgan' for --compare=torch; choose from srresnet, srgan, csrgan, rrdbnet, "
        "esrgan, lsrgan.")
