"""The PyTorch side of ``python -m jaxrestore.benchmark --solver=csgm,iagan,map,dip --compare=torch``.

The inverse problems of 002_* and 003_* solved the way their official codes run them: one
image at a time, restarts one after the other, a Python loop of ``loss.backward()`` and
``optimizer.step()`` per iteration, in plain PyTorch (NCHW). Each solver does the work of the
JAX solver it stands beside, step for step (the tests run both from the same starting point
and compare their objectives):

- :func:`csgm`: Adam on ``z`` against ``|y - A G(z)|^2`` (summed), restart after restart, the
  best iterate of the best restart kept (003_*, the ``csgm`` defaults);
- :func:`iagan`: from CSGM's ``z``, Adam on ``z`` and on the generator's weights (two
  learning rates) against the same objective, on a fresh copy of the weights per image;
- :func:`map_search`: 002_*'s released update, Nesterov momentum SGD on ``z`` clipped to
  [-1, 1] after each step, against ``sum |y - A G(z)| + lambda * -log D(G(z))``;
- :func:`dip`: the Deep Image Prior skip network (:class:`SkipNet`, the layout of
  :mod:`jaxrestore.models.dip`) trained by Adam from a fixed noise input with a fresh
  perturbation each step, the last iterate returned.

The generator and discriminator are the real 32x32 CelebA DCGAN of ``../shared/weights/
dcgan32_celeba`` (:class:`DCGAN32Generator`, :class:`DCGAN32Discriminator`: the state dicts'
own layout, loaded as they are). Operators are given as functions of NCHW tensors.

torch is a test/dev dependency, imported only here (through :mod:`.torch_steps`' check).
"""

from __future__ import annotations

import copy

import numpy as np

from jaxrestore.benchmarks.torch_steps import require_torch, torch

if torch is not None:
    # local: torch is a test/dev extra; without it this module loads and require_torch() says what to install
    from torch import nn
    from torch.nn import functional as F

    SLOPE = 0.2

    class DCGAN32Generator(nn.Module):
        """z (N, 100) -> (N, 3, 32, 32) in [-1, 1]; the keys of ``generator.pt``."""

        def __init__(self):
            super().__init__()

            def up(c_in, c_out):
                return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                                     nn.LeakyReLU(SLOPE))

            self.generator_deconv = nn.Sequential(
                nn.Sequential(nn.ConvTranspose2d(100, 256, 4, 1, 0, bias=False), nn.BatchNorm2d(256)),
                nn.Sequential(nn.Conv2d(256, 128, 3, 1, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(SLOPE)),
                up(128, 64), up(64, 32), nn.Sequential(nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.Tanh()))

        def forward(self, z):
            return self.generator_deconv(z.view(z.shape[0], -1, 1, 1))

    class DCGAN32Discriminator(nn.Module):
        """(N, 3, 32, 32) in [-1, 1] -> (N,) logits; the keys of ``discriminator.pt``."""

        def __init__(self):
            super().__init__()

            def down(c_in, c_out):
                return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                                     nn.LeakyReLU(SLOPE))

            self.discriminator = nn.Sequential(nn.Sequential(nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(SLOPE)),
                                               down(32, 64), down(64, 128), down(128, 256), nn.Flatten(),
                                               nn.Linear(1024, 1))

        def forward(self, x):
            return self.discriminator(x)[:, 0]

    class DCGANGenerator(nn.Module):
        """:class:`jaxrestore.models.dcgan.DCGANGenerator` (carpedm20's layout, TensorFlow's SAME
        transposed convolutions) in PyTorch, BatchNorm in inference mode; NCHW out."""

        def __init__(self, z_dim: int = 100, features: int = 64, size: int = 64):
            super().__init__()
            f, self.s = features, size // 16
            self.project = nn.Linear(z_dim, self.s * self.s * 8 * f, bias=True)
            widths = (8 * f, 4 * f, 2 * f, f, 3)
            self.bns = nn.ModuleList([nn.BatchNorm2d(w, eps=1e-5) for w in widths[:-1]])
            # TF's SAME stride-2 transpose of a 5x5 kernel pads the dilated input by 3 before and 2 after;
            # PyTorch's padding=1 pads 3 on both sides, so the last row and column are cropped
            self.deconvs = nn.ModuleList([nn.ConvTranspose2d(a, b, 5, 2, padding=1)
                                          for a, b in zip(widths, widths[1:])])

        def forward(self, z):
            h = self.project(z).view(z.shape[0], self.s, self.s, -1).permute(0, 3, 1, 2)  # the NHWC reshape
            h = torch.relu(self.bns[0](h))
            for i, deconv in enumerate(self.deconvs):
                h = deconv(h)[:, :, :-1, :-1]
                h = torch.tanh(h) if i == len(self.deconvs) - 1 else torch.relu(self.bns[i + 1](h))
            return h

    class DCGANDiscriminator(nn.Module):
        """:class:`jaxrestore.models.dcgan.DCGANDiscriminator` in PyTorch (SAME padding of a 5x5
        stride-2 convolution on an even side: 1 before, 2 after), BatchNorm in inference mode."""

        def __init__(self, features: int = 64, size: int = 64):
            super().__init__()
            f = features
            widths = (3, f, 2 * f, 4 * f, 8 * f)
            self.convs = nn.ModuleList([nn.Conv2d(a, b, 5, 2) for a, b in zip(widths, widths[1:])])
            self.bns = nn.ModuleList([nn.BatchNorm2d(w, eps=1e-5) for w in widths[2:]])
            self.logit = nn.Linear((size // 16) ** 2 * 8 * f, 1)

        def forward(self, x):
            for i, conv in enumerate(self.convs):
                x = conv(F.pad(x, (1, 2, 1, 2)))
                x = F.leaky_relu(self.bns[i - 1](x) if i else x, SLOPE)
            return self.logit(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))[:, 0]  # flattened as NHWC

    class SkipNet(nn.Module):
        """The DIP ``skip`` hourglass of :mod:`jaxrestore.models.dip` (the official ``skip()``
        with the super-resolution notebook's settings) in PyTorch, BatchNorm in training mode."""

        def __init__(self, inputs: int = 32, outputs: int = 3, channels: int = 128, skip: int = 4, scales: int = 5):
            super().__init__()

            def conv(c_in, c_out, kernel, stride=1):
                return nn.Sequential(nn.ReflectionPad2d((kernel - 1) // 2), nn.Conv2d(c_in, c_out, kernel, stride))

            def block(c_in, c_out, kernel, stride=1):
                return nn.Sequential(conv(c_in, c_out, kernel, stride), nn.BatchNorm2d(c_out), nn.LeakyReLU(SLOPE))

            self.skips, self.downs, self.ups = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
            depth = inputs
            for i in range(scales):
                deeper = channels  # what comes up from scale i + 1 (or this scale's down path at the bottom)
                self.skips.append(block(depth, skip, 1))
                self.downs.append(nn.Sequential(block(depth, channels, 3, 2), block(channels, channels, 3)))
                self.ups.append(nn.Sequential(nn.BatchNorm2d(skip + deeper), block(skip + deeper, channels, 3),
                                              block(channels, channels, 1)))
                depth = channels
            self.out = conv(channels, outputs, 1)

        def _scale(self, x, i):
            skip = self.skips[i](x)
            deeper = self.downs[i](x)
            if i + 1 < len(self.downs):
                deeper = self._scale(deeper, i + 1)
            deeper = F.interpolate(deeper, scale_factor=2, mode="bilinear", align_corners=False)
            return self.ups[i](torch.cat([skip, deeper], dim=1))

        def forward(self, z):
            return torch.sigmoid(self.out(self._scale(z, 0)))


def dcgan_from_flax(g_vars, d_vars, *, features: int, size: int = 64, z_dim: int = 100):
    """PyTorch twins of the project's DCGAN generator and discriminator holding the Flax variables
    (``params`` and ``batch_stats``), in inference mode."""
    require_torch()
    g, d = DCGANGenerator(z_dim, features, size), DCGANDiscriminator(features, size)
    gp, gs, dp, ds = g_vars["params"], g_vars["batch_stats"], d_vars["params"], d_vars["batch_stats"]

    def tensor(leaf):
        return torch.from_numpy(_array(leaf))

    def bn(module, params, stats):
        module.weight.data, module.bias.data = tensor(params["scale"]), tensor(params["bias"])
        module.running_mean.data, module.running_var.data = tensor(stats["mean"]), tensor(stats["var"])

    g.project.weight.data = tensor(gp["project"]["kernel"]).T.contiguous()
    g.project.bias.data = tensor(gp["project"]["bias"])
    for i in range(4):
        bn(g.bns[i], gp[f"bn{i}"], gs[f"bn{i}"])
    for i in range(4):  # HxWxinxout -> (in, out, kh, kw), unflipped (both sides flip in the transpose)
        layer = gp[f"deconv{i + 1}"]
        g.deconvs[i].weight.data = tensor(layer["kernel"]).permute(2, 3, 0, 1).contiguous()
        g.deconvs[i].bias.data = tensor(layer["bias"])
    for i in range(4):
        d.convs[i].weight.data = tensor(dp[f"conv{i}"]["kernel"]).permute(3, 2, 0, 1).contiguous()
        d.convs[i].bias.data = tensor(dp[f"conv{i}"]["bias"])
    for i in range(1, 4):
        bn(d.bns[i - 1], dp[f"bn{i}"], ds[f"bn{i}"])
    d.logit.weight.data, d.logit.bias.data = tensor(dp["logit"]["kernel"]).T.contiguous(), tensor(dp["logit"]["bias"])
    return g.eval(), d.eval()


def load_dcgan32(folder):
    """``(generator, discriminator)`` in inference mode from ``generator.pt`` / ``discriminator.pt``."""
    require_torch()
    g, d = DCGAN32Generator(), DCGAN32Discriminator()
    g.load_state_dict(torch.load(f"{folder}/generator.pt", map_location="cpu", weights_only=True))
    d.load_state_dict(torch.load(f"{folder}/discriminator.pt", map_location="cpu", weights_only=True))
    return g.eval(), d.eval()


def _minimise(objective, params, optimizer, iterations: int, *, keep_best: bool, project=None):
    """The official loop: ``iterations`` steps, the objective of each iterate computed in the step
    that moves it; the best iterate (the final one included) with ``keep_best``. Returns
    ``(best params as detached copies, their objective, objectives before each step)``."""
    history = []
    best, best_value = None, float("inf")
    for _ in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        loss = objective()
        value = float(loss.detach())
        history.append(value)
        if keep_best and value < best_value:
            best, best_value = [p.detach().clone() for p in params], value
        loss.backward()
        optimizer.step()
        if project is not None:
            with torch.no_grad():
                project()
    with torch.no_grad():
        final = float(objective())
    if not keep_best or final < best_value:
        best, best_value = [p.detach().clone() for p in params], final
    return best, best_value, history


def csgm(generator, A, y, starts, *, iterations: int, lr: float, keep_best: bool = True):
    """CSGM of one observation ``y`` (1, C, h, w) from each start in ``starts`` (restarts, z_dim) in turn:
    ``(z, objective, history)`` of the best."""
    for p in generator.parameters():
        p.requires_grad_(False)
    best = None
    for start in starts:
        z = start.detach().clone()[None].requires_grad_(True)
        optimizer = torch.optim.Adam([z], lr=lr)
        (z_best,), value, history = _minimise(lambda: ((y - A(generator(z))) ** 2).sum(), [z], optimizer,
                                              iterations, keep_best=keep_best)
        if best is None or value < best[1]:
            best = (z_best[0], value, history)
    return best


def iagan(generator, A, y, z_hat, *, iterations: int, lr_z: float, lr_theta: float, keep_best: bool = True):
    """IAGAN of one observation from CSGM's ``z_hat`` (z_dim,): ``(image, objective, history)``; the
    generator's weights adapt on a copy (the caller's stays as it was)."""
    g = copy.deepcopy(generator)
    theta = list(g.parameters())
    for p in theta:
        p.requires_grad_(True)
    z = z_hat.detach().clone()[None].requires_grad_(True)
    optimizer = torch.optim.Adam([{"params": [z], "lr": lr_z}, {"params": theta, "lr": lr_theta}])
    best, value, history = _minimise(lambda: ((y - A(g(z))) ** 2).sum(), [z, *theta], optimizer, iterations,
                                     keep_best=keep_best)
    with torch.no_grad():
        for p, b in zip([z, *theta], best):
            p.copy_(b)
        image = g(z)[0]
    return image, value, history


def map_search(generator, discriminator, A, y, start, *, iterations: int, lr: float, momentum: float,
               prior_weight: float):
    """002_*'s released MAP search of one observation from ``start`` (z_dim,): ``(z, objective,
    history)``, the last iterate (the released code's)."""
    for p in [*generator.parameters(), *discriminator.parameters()]:
        p.requires_grad_(False)
    z = start.detach().clone()[None].requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=lr, momentum=momentum, nesterov=True)

    def objective():
        image = generator(z)
        return (y - A(image)).abs().sum() + prior_weight * F.softplus(-discriminator(image)).sum()

    (z_last,), value, history = _minimise(objective, [z], optimizer, iterations, keep_best=False,
                                          project=lambda: z.clamp_(-1.0, 1.0))
    return z_last[0], value, history


def dip(net, A, y, z, *, iterations: int, lr: float, reg_noise_std: float, seed: int = 0):
    """DIP of one observation: ``net`` (a :class:`SkipNet` with its initial weights, trained in
    place) from the input ``z`` (1, C, H, W), a fresh perturbation ``N(0, reg_noise_std^2)`` added
    each step (the official notebook's); ``(image, losses)``, the last iterate on the clean input."""
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    noise_source = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        noise = reg_noise_std * torch.randn(z.shape, generator=noise_source) if reg_noise_std else 0.0
        loss = ((A(net(z + noise)) - y) ** 2).mean()
        losses.append(float(loss.detach()))
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return net(z)[0], losses


def skipnet_from_flax(params, *, scales: int, channels: int, skip: int, inputs: int, outputs: int = 3):
    """A :class:`SkipNet` holding the Flax :class:`~jaxrestore.models.dip.SkipNet`'s ``params``
    (HWIO kernels to OIHW), so that both sides start from the same network."""
    require_torch()
    net = SkipNet(inputs, outputs, channels, skip, scales)

    def conv(module, name):
        module.weight.data = torch.from_numpy(_array(params[name]["conv"]["kernel"]).transpose(3, 2, 0, 1).copy())
        module.bias.data = torch.from_numpy(_array(params[name]["conv"]["bias"]))

    def bn(module, name):
        module.weight.data = torch.from_numpy(_array(params[name]["scale"]))
        module.bias.data = torch.from_numpy(_array(params[name]["bias"]))

    def block(seq, name):  # Sequential(Sequential(pad, conv), BN, act)
        conv(seq[0][1], f"{name}_conv")
        bn(seq[1], f"{name}_bn")

    for i in range(scales):
        block(net.skips[i], f"skip{i}")
        block(net.downs[i][0], f"down{i}a")
        block(net.downs[i][1], f"down{i}b")
        bn(net.ups[i][0], f"concat{i}_bn")
        block(net.ups[i][1], f"up{i}")
        block(net.ups[i][2], f"up{i}_1x1")
    conv(net.out[1], "out_conv")
    return net


def _array(leaf):
    return np.array(leaf, dtype=np.float32)
