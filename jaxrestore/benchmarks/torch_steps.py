"""The PyTorch side of ``python -m jaxrestore.benchmark --compare=torch``.

The training steps of the configs written in plain PyTorch, the way a BasicSR or KAIR
user runs them: ``nn.Module``s in NCHW, ``torch.optim.Adam``, ``loss.backward()`` and
``optimizer.step()``, one network's update after another. Each network has the layout of
the Flax module it stands for (same layers, widths, kernels, strides and parameter
counts; :func:`parameter_count` is compared with the Flax side's by the tests), each
step the same losses, forward passes and optimiser updates as the jitted JAX step, so
the two step times measure the same work. Weights are PyTorch's default initialisation:
the figures are times, not numbers to compare.

torch is a test/dev dependency, imported only here; without it the benchmark says
which package to install.
"""

from __future__ import annotations

import math

from jaxrestore.errors import ConfigError

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:  # pragma: no cover - the message is tested through the command
    torch = None

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def require_torch():
    if torch is None:
        raise ConfigError("--compare=torch needs PyTorch: pip install torch (or pip install -e \".[test]\").")
    return torch


if torch is not None:

    def conv(cin, cout, kernel, stride=1, bias=True, padding=None):
        return nn.Conv2d(cin, cout, kernel, stride, kernel // 2 if padding is None else padding, bias=bias)

    # -- 000_*: SRResNet and the SRGAN discriminator ------------------------------------

    class ResidualBlock(nn.Module):
        def __init__(self, features):
            super().__init__()
            self.body = nn.Sequential(conv(features, features, 3), nn.BatchNorm2d(features), nn.PReLU(),
                                      conv(features, features, 3), nn.BatchNorm2d(features))

        def forward(self, x):
            return x + self.body(x)

    class SRResNet(nn.Module):
        """LR in [0, 1] -> HR in [0, 1] (the last conv predicts [-1, 1])."""

        def __init__(self, scale=4, num_blocks=16, features=64):
            super().__init__()
            self.head = nn.Sequential(conv(3, features, 9), nn.PReLU())
            self.blocks = nn.Sequential(*[ResidualBlock(features) for _ in range(num_blocks)])
            self.body = nn.Sequential(conv(features, features, 3), nn.BatchNorm2d(features))
            ups = []
            for _ in range(int(math.log2(scale))):
                ups += [conv(features, features * 4, 3), nn.PixelShuffle(2), nn.PReLU()]
            self.up = nn.Sequential(*ups)
            self.tail = conv(features, 3, 9)

        def forward(self, lr):
            head = self.head(lr)
            x = self.body(self.blocks(head)) + head
            return (self.tail(self.up(x)) + 1.0) * 0.5

    class SRGANDiscriminator(nn.Module):
        BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))

        def __init__(self, base=64, patch=96, dense=1024):
            super().__init__()
            layers, cin = [conv(3, base, 3), nn.LeakyReLU(0.2)], base
            for features, stride in self.BLOCKS:
                features = features * base // 64
                layers += [conv(cin, features, 3, stride), nn.BatchNorm2d(features), nn.LeakyReLU(0.2)]
                cin = features
            self.features = nn.Sequential(*layers)
            side = patch // 16
            self.dense = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, dense), nn.LeakyReLU(0.2),
                                       nn.Linear(dense, 1))

        def forward(self, images):
            return self.dense(self.features(images * 2.0 - 1.0))[:, 0]

    # -- 001_*: RRDBNet, ESRGAN's discriminator, LSRGAN's encoder -------------------------

    class ResidualDenseBlock(nn.Module):
        def __init__(self, features=64, growth=32):
            super().__init__()
            self.convs = nn.ModuleList([conv(features + k * growth, growth, 3) for k in range(4)])
            self.conv5 = conv(features + 4 * growth, features, 3)

        def forward(self, x):
            inputs = [x]
            for c in self.convs:
                inputs.append(F.leaky_relu(c(torch.cat(inputs, 1)), 0.2))
            return x + 0.2 * self.conv5(torch.cat(inputs, 1))

    class RRDB(nn.Module):
        def __init__(self, features, growth):
            super().__init__()
            self.rdbs = nn.Sequential(*[ResidualDenseBlock(features, growth) for _ in range(3)])

        def forward(self, x):
            return x + 0.2 * self.rdbs(x)

    class RRDBNet(nn.Module):
        def __init__(self, scale=4, features=64, num_blocks=23, growth=32):
            super().__init__()
            self.conv_first = conv(3, features, 3)
            self.body = nn.Sequential(*[RRDB(features, growth) for _ in range(num_blocks)])
            self.conv_body = conv(features, features, 3)
            self.ups = nn.ModuleList([conv(features, features, 3) for _ in range(int(math.log2(scale)))])
            self.conv_hr = conv(features, features, 3)
            self.conv_last = conv(features, 3, 3)

        def forward(self, lr):
            head = self.conv_first(lr)
            x = self.conv_body(self.body(head)) + head
            for up in self.ups:
                x = F.leaky_relu(up(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
            return self.conv_last(F.leaky_relu(self.conv_hr(x), 0.2))

    class VGGStyleDiscriminator(nn.Module):
        """ESRGAN's Discriminator_VGG_128."""

        STAGES = ((1, 1), (2, 2), (4, 4), (8, 8), (8, 8))

        def __init__(self, base=64, patch=128, dense=100):
            super().__init__()
            layers, cin = [conv(3, base, 3), nn.LeakyReLU(0.2)], base
            for s, (m0, m1) in enumerate(self.STAGES):
                if s > 0:
                    layers += [conv(cin, m0 * base, 3, bias=False), nn.BatchNorm2d(m0 * base), nn.LeakyReLU(0.2)]
                    cin = m0 * base
                layers += [conv(cin, m1 * base, 4, 2, bias=False, padding=1), nn.BatchNorm2d(m1 * base),
                           nn.LeakyReLU(0.2)]
                cin = m1 * base
            self.features = nn.Sequential(*layers)
            side = patch // 32
            self.dense = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, dense), nn.LeakyReLU(0.2),
                                       nn.Linear(dense, 1))

        def forward(self, images):
            return self.dense(self.features(images))[:, 0]

    class LSREncoder(nn.Module):
        VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))

        def __init__(self, scale=4, vgg_blocks=3, features=64, vgg_width=1.0):
            super().__init__()
            layers, cin = [], 3
            for channels in self.VGG16[:vgg_blocks]:
                for c in channels:
                    c = max(1, int(c * vgg_width))
                    layers += [conv(cin, c, 3), nn.ReLU()]
                    cin = c
                layers.append(nn.MaxPool2d(2))
            self.vgg = nn.Sequential(*layers)
            ups = []
            for _ in range(vgg_blocks - int(math.log2(scale))):
                ups += [nn.Upsample(scale_factor=2, mode="nearest"), conv(cin, features, 3), nn.LeakyReLU(0.2)]
                cin = features
            self.up = nn.Sequential(*ups)
            self.out = conv(cin, 3, 3)

        def forward(self, hr):
            return self.out(self.up(self.vgg(hr)))

    # -- VGG19 features for the perceptual losses ---------------------------------------

    class VGG19Features(nn.Module):
        """torchvision's vgg19().features up to ``layer`` (``relu5_4`` or ``conv5_4`` ...), on [0, 1]
        images normalised with the ImageNet statistics; frozen."""

        BLOCKS = ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)

        def __init__(self, layer="relu5_4"):
            super().__init__()
            layers, cin = [], 3
            kind, rest = layer[:4], layer[4:]
            block, index = (int(v) for v in rest.split("_"))
            for b, channels in enumerate(self.BLOCKS, start=1):
                for i, c in enumerate(channels, start=1):
                    layers.append(conv(cin, c, 3))
                    cin = c
                    if (b, i) == (block, index) and kind == "conv":
                        break
                    layers.append(nn.ReLU())
                    if (b, i) == (block, index):
                        break
                else:
                    layers.append(nn.MaxPool2d(2))
                    continue
                break
            self.features = nn.Sequential(*layers)
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
            self.requires_grad_(False)

        def forward(self, images):
            return self.features((images - self.mean) / self.std)


def parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _adam(module, lr, b1, b2, eps):
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(b1, b2), eps=eps)


class TorchStep:
    """One training step of a config in PyTorch: ``step(lr_images, hr_images)`` (NCHW tensors)."""

    def __init__(self, config, *, patch: int):
        require_torch()
        model, loss, opt = config.model, config.loss, config.optimizer
        scale = config.task.scale
        self.config, self.kind = config, step_kind(config)
        adam = {"b1": opt.b1, "b2": opt.b2, "eps": opt.eps}
        if model.generator == "srresnet":
            self.g = SRResNet(scale, model.num_blocks, model.features)
        elif model.generator == "rrdbnet":
            self.g = RRDBNet(scale, model.features, model.num_blocks, model.get("growth", 32))
        else:
            raise ConfigError(f"--compare=torch has no PyTorch {model.generator!r} generator; compare "
                              "srresnet, srgan, csrgan, rrdbnet_psnr, esrgan or lsrgan.")
        self.g_opt = _adam(self.g, opt.g_lr, **adam)
        self.d = self.l = self.vgg = None
        if self.kind in ("joint_gan", "constrained"):
            self.d = SRGANDiscriminator(model.d_features, patch)
        elif self.kind == "esrgan":
            self.d = VGGStyleDiscriminator(model.d_features, patch)
        if self.d is not None:
            self.d_opt = _adam(self.d, opt.d_lr, **adam)
        if self.kind == "constrained":
            self.g_adv_opt = _adam(self.g, opt.g_lr, **adam)  # the adversarial loss's own Adam state
        if model.get("encoder") and self.kind in ("esrgan", "l1"):
            self.l = LSREncoder(scale, model.get("encoder_blocks", 3), model.get("encoder_features", 64),
                                model.get("encoder_vgg_width", 1.0))
            self.l_opt = _adam(self.l, opt.get("l_lr", opt.g_lr), **adam)
        if (self.kind in ("joint_gan", "joint_fidelity", "constrained") and loss.fidelity == "vgg") or \
                (self.kind == "esrgan" and loss.perceptual == "vgg"):
            self.vgg = VGG19Features(loss.vgg_layer)
        if self.kind == "esrgan" and loss.perceptual == "contextual":
            raise ConfigError("--compare=torch times the VGG perceptual loss only; use esrgan/lsrgan, "
                              "not the contextual (cesrgan/clsrgan) configs.")
        self.bce = nn.BCEWithLogitsLoss()

    def networks(self) -> dict:
        return {k: v for k, v in (("g", self.g), ("d", self.d), ("l", self.l)) if v is not None}

    # -- losses ----------------------------------------------------------------

    def fidelity(self, restored, hr):
        """000_*: MSE on [-1, 1] or the scaled VGG feature MSE."""
        loss = self.config.loss
        if self.vgg is None:
            return F.mse_loss(restored * 2 - 1, hr * 2 - 1)
        with torch.no_grad():
            target = self.vgg(hr)
        return F.mse_loss(self.vgg(restored) * loss.vgg_feature_scale, target * loss.vgg_feature_scale)

    def d_step_000(self, hr, fake):
        self.d_opt.zero_grad(set_to_none=True)
        real_logits, fake_logits = self.d(hr), self.d(fake)
        loss = self.bce(real_logits, torch.ones_like(real_logits)) + self.bce(fake_logits, torch.zeros_like(fake_logits))
        loss.backward()
        self.d_opt.step()

    # -- the steps ---------------------------------------------------------------

    def __call__(self, lr_images, hr):
        getattr(self, f"_{self.kind}")(lr_images, hr)

    def _joint_fidelity(self, lr_images, hr):
        self.g_opt.zero_grad(set_to_none=True)
        self.fidelity(self.g(lr_images), hr).backward()
        self.g_opt.step()

    def _l1(self, lr_images, hr):
        self.g_opt.zero_grad(set_to_none=True)
        F.l1_loss(self.g(lr_images), hr).backward()
        self.g_opt.step()
        if self.l is not None:  # stage 1 of LSRGAN: L on HR -> bicubic LR
            self.l_opt.zero_grad(set_to_none=True)
            F.l1_loss(self.l(hr), lr_images).backward()
            self.l_opt.step()

    def _joint_gan(self, lr_images, hr):
        """SRGAN (000_* eq. 6): D on eq. (5), then G on l_fid + lambda * l_adv through the new D."""
        restored = self.g(lr_images)
        self.d_step_000(hr, restored.detach())
        self.g_opt.zero_grad(set_to_none=True)
        for p in self.d.parameters():
            p.requires_grad_(False)
        logits = self.d(restored)
        loss = self.fidelity(restored, hr) + self.config.loss.adversarial_weight * self.bce(
            logits, torch.ones_like(logits))
        loss.backward()
        for p in self.d.parameters():
            p.requires_grad_(True)
        self.g_opt.step()

    def _constrained(self, lr_images, hr):
        """cSRGAN (000_* eqs. 7-11): D step; theta_1 by the fidelity Adam; theta_2 by the
        adversarial Adam from theta_1; keep theta_2 if its fidelity loss is lower, else theta_1."""
        restored = self.g(lr_images)
        self.d_step_000(hr, restored.detach())
        self.g_opt.zero_grad(set_to_none=True)
        self.fidelity(restored, hr).backward()
        self.g_opt.step()  # theta_1
        theta1 = [p.detach().clone() for p in self.g.parameters()]
        self.g_adv_opt.zero_grad(set_to_none=True)
        for p in self.d.parameters():
            p.requires_grad_(False)
        restored1 = self.g(lr_images)
        logits = self.d(restored1)
        self.bce(logits, torch.ones_like(logits)).backward()
        for p in self.d.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            fid1 = self.fidelity(restored1, hr)
        self.g_adv_opt.step()  # theta_2
        with torch.no_grad():
            fid2 = self.fidelity(self.g(lr_images), hr)
            if not fid2 < fid1:
                for p, p1 in zip(self.g.parameters(), theta1):
                    p.copy_(p1)

    def _esrgan(self, lr_images, hr):
        """ESRGAN / LSRGAN (001_* eqs. 9-10) in BasicSR's order: G through D (frozen), then D
        on the detached output, then L; relativistic average losses."""
        loss_cfg = self.config.loss
        restored = self.g(lr_images)
        # G
        for p in self.d.parameters():
            p.requires_grad_(False)
        self.g_opt.zero_grad(set_to_none=True)
        real_logits = self.d(hr).detach()
        fake_logits = self.d(restored)
        adv = 0.5 * (self.bce(real_logits - fake_logits.mean(), torch.zeros_like(real_logits))
                     + self.bce(fake_logits - real_logits.mean(), torch.ones_like(fake_logits)))
        loss = loss_cfg.adversarial_weight * adv + loss_cfg.l1_weight * F.l1_loss(restored, hr)
        if self.vgg is not None:
            with torch.no_grad():
                target = self.vgg(hr)
            loss = loss + F.l1_loss(self.vgg(restored), target)
        if self.l is not None:
            for p in self.l.parameters():
                p.requires_grad_(False)
            with torch.no_grad():
                l_target = self.l(hr)
            loss = loss - loss_cfg.lsr_weight * F.l1_loss(self.l(restored), l_target)
            for p in self.l.parameters():
                p.requires_grad_(True)
        loss.backward()
        self.g_opt.step()
        for p in self.d.parameters():
            p.requires_grad_(True)
        # D
        self.d_opt.zero_grad(set_to_none=True)
        fake = restored.detach()
        real_logits, fake_logits = self.d(hr), self.d(fake)
        d_loss = 0.5 * (self.bce(real_logits - fake_logits.mean(), torch.ones_like(real_logits))
                        + self.bce(fake_logits - real_logits.mean(), torch.zeros_like(fake_logits)))
        d_loss.backward()
        self.d_opt.step()
        # L
        if self.l is not None:
            self.l_opt.zero_grad(set_to_none=True)
            F.l1_loss(self.l(hr), self.l(fake)).backward()
            self.l_opt.step()


def step_kind(config) -> str:
    """Which step a config's ``train_step`` runs: ``joint_fidelity`` (SRResNet), ``joint_gan``
    (SRGAN), ``constrained`` (cSRGAN), ``l1`` (RRDBNet stage 1), ``esrgan`` (ESRGAN/LSRGAN)."""
    adversarial = config.loss.adversarial_weight > 0
    if config.method == "esrgan":
        return "esrgan" if adversarial else "l1"
    if config.method == "constrained":
        return "constrained"
    if config.method == "joint":
        return "joint_gan" if adversarial else "joint_fidelity"
    raise ConfigError(f"--compare=torch has no PyTorch step for method {config.method!r}; compare "
                      "srresnet, srgan, csrgan, rrdbnet_psnr, esrgan or lsrgan.")
