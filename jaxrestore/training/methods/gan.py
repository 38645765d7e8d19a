"""What the GAN restoration methods of 000_* share: state, optimizers, losses, D update.

The SRGAN family (SRResNet, SRGAN, cSRGAN) and the ARGAN family use the same
pieces: a generator G (degraded -> restored), a discriminator D (image -> logit),
a fidelity loss l_fid (MSE or VGG, 000_* eqs. 2-3), the adversarial loss
l_adv = -log D(G(y)) (eq. 4) and the discriminator loss (eq. 5). The two
methods differ only in how G is updated:

* ``jaxrestore.training.methods.joint`` — l_fid + lambda * l_adv in one step (eq. 6);
  lambda = 0 is SRResNet / ARGAN-base and needs no D at all.
* ``jaxrestore.training.methods.constrained`` — the constrained update (eqs. 7-11).

Optimizers and learning rates: :mod:`jaxrestore.training.methods.common`. Batches are
dicts with ``degraded`` and ``target``, NHWC float32 in [0, 1].

Two things the ARGAN networks add, handled here once for every method: a
generator that draws a noise input gets the step's key as its ``"noise"`` PRNG
stream (the same noise for every forward pass of one step, so the constrained
update compares theta_1 and theta_2 on equal terms), and a conditional
discriminator (``conditional = True`` on the module) sees the degraded input
beside the image it judges.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.losses import adversarial, pixel
from jaxrestore.losses.perceptual import vgg_feature_loss
from jaxrestore.models import build_discriminator, build_generator
from jaxrestore.runtime import precision
from jaxrestore.training.methods.common import Method, Net, adam_step, frozen_vgg, lr_schedule, net_variables

FIDELITY_LOSSES = ("mse", "vgg")


@struct.dataclass
class GanState:
    """The whole training state; ``d`` is None when no discriminator is trained.

    ``g_adv_opt_state`` is the generator's Adam state for the adversarial loss, kept
    apart from the fidelity one by the constrained update (None for the others).
    """

    step: jax.Array
    g: Net
    d: Net | None
    g_adv_opt_state: Any = None


class GanMethod(Method):
    """Builds G, D, optimizers and losses from a config; subclasses define ``train_step``.

    The public surface used by the training loop:

    * ``init(key, batch) -> GanState``
    * ``frozen`` — arrays the step needs but never trains (VGG weights), passed to
      the jitted steps as an argument rather than baked in as constants;
    * ``train_step(frozen, state, batch, key) -> (state, metrics)``
    * ``pretrain_step(...)`` — fidelity-only step (pre-training before GAN training);
    * ``generator_variables(state)``.
    """

    tasks = ("sr", "jpeg")

    uses_discriminator: bool = True
    separate_adversarial_optimizer: bool = False

    def __init__(self, config):
        self.config = config
        loss_cfg, opt_cfg = config.loss, config.optimizer
        if loss_cfg.fidelity not in FIDELITY_LOSSES:
            raise ConfigError(
                f"unknown fidelity loss {loss_cfg.fidelity!r}; set config.loss.fidelity to one of "
                f"{list(FIDELITY_LOSSES)}.")
        self.generator = build_generator(config.model, scale=config.task.scale)
        self.discriminator = build_discriminator(config.model) if self.uses_discriminator else None
        self.g_tx = optax.scale_by_adam(opt_cfg.b1, opt_cfg.b2, opt_cfg.eps)
        self.d_tx = optax.scale_by_adam(opt_cfg.b1, opt_cfg.b2, opt_cfg.eps)
        self.g_lr = lr_schedule(opt_cfg, opt_cfg.g_lr)
        self.d_lr = lr_schedule(opt_cfg, opt_cfg.d_lr)
        self.dtype = precision.compute_dtype(config)
        self.frozen = frozen_vgg(config) if loss_cfg.fidelity == "vgg" else {}

    # -- construction -------------------------------------------------------

    def init(self, key, batch) -> GanState:
        """The initial state for batches shaped like ``batch`` (jitted: Flax's eager init
        dispatches every op on its own, which is slow on a CPU)."""
        return jax.jit(self._init)(key, {"degraded": batch["degraded"][:1], "target": batch["target"][:1]})

    def _init(self, key, batch) -> GanState:
        g_key, d_key, noise_key = jax.random.split(key, 3)
        g_vars = self.generator.init({"params": g_key, "noise": noise_key}, batch["degraded"][:1],
                                     train=False)
        d = None
        if self.discriminator is not None:
            d_vars = self.discriminator.init(d_key, *self._d_inputs(batch["target"][:1],
                                                                   batch["degraded"][:1]), train=False)
            d = Net(d_vars["params"], d_vars.get("batch_stats", {}), self.d_tx.init(d_vars["params"]))
        state = GanState(step=jnp.zeros((), jnp.int32), g=None, d=d)
        return self.with_generator(state, g_vars)

    def with_generator(self, state: GanState, variables) -> GanState:
        """``state`` with the generator's variables replaced and its optimizer states reset
        (a fresh start, or ``init_from`` another run's generator)."""
        params = variables["params"]
        g = Net(params, variables.get("batch_stats", {}), self.g_tx.init(params))
        adv = self.g_tx.init(params) if self.separate_adversarial_optimizer else None
        return state.replace(g=g, g_adv_opt_state=adv)

    # -- pieces shared by the steps -------------------------------------------

    def fidelity_loss(self, frozen, restored, target):
        """l_fid: MSE on the [-1, 1] range of Ledig et al. (eq. 2) or the VGG loss (eq. 3)."""
        if self.config.loss.fidelity == "mse":
            return pixel.mse(restored * 2.0 - 1.0, target * 2.0 - 1.0)
        return vgg_feature_loss(frozen["vgg"], restored, target,
                                layer=self.config.loss.vgg_layer,
                                feature_scale=self.config.loss.vgg_feature_scale, dtype=self.dtype)

    def g_forward(self, g: Net, params, degraded, key=None):
        """G in training mode (``key``: its noise stream, if it takes noise); returns
        (restored, updated batch_stats)."""
        rngs = {"noise": key} if key is not None else None
        restored, mutated = precision.apply(self.generator, net_variables(g, params), degraded, train=True,
                                            mutable=["batch_stats"], rngs=rngs, dtype=self.dtype)
        return restored, mutated.get("batch_stats", g.batch_stats)

    def _d_inputs(self, images, degraded) -> tuple:
        """D's positional inputs: the image, and the degraded input if D is conditional."""
        return (images, degraded) if getattr(self.discriminator, "conditional", False) else (images,)

    def d_logits(self, d: Net, images, degraded):
        """D on a batch in training mode (batch statistics), running averages discarded."""
        logits, _ = precision.apply(self.discriminator, net_variables(d), *self._d_inputs(images, degraded),
                                    train=True, mutable=["batch_stats"], dtype=self.dtype)
        return logits

    def d_update(self, d: Net, step, real, fake, degraded):
        """One discriminator step on eq. (5); real and fake are separate BN batches.

        Logs ``train/d_real_logit`` / ``train/d_fake_logit``: D's mean raw logit on the real
        and the restored batch before this step (the same names and meaning as the ESRGAN
        family's step; sigmoid of a logit is D's probability of "real")."""
        real_inputs, fake_inputs = self._d_inputs(real, degraded), self._d_inputs(fake, degraded)

        def loss_fn(params):
            real_logits, mut = precision.apply(
                self.discriminator, {"params": params, "batch_stats": d.batch_stats}, *real_inputs, train=True,
                mutable=["batch_stats"], dtype=self.dtype)
            fake_logits, mut = precision.apply(
                self.discriminator, {"params": params, "batch_stats": mut["batch_stats"]}, *fake_inputs,
                train=True, mutable=["batch_stats"], dtype=self.dtype)
            loss = adversarial.discriminator_loss(real_logits, fake_logits)
            return loss, (mut["batch_stats"], real_logits, fake_logits)

        (loss, (stats, real_logits, fake_logits)), grads = jax.value_and_grad(
            loss_fn, has_aux=True)(d.params)
        params, opt_state = adam_step(self.d_tx, d.params, d.opt_state, grads, self.d_lr(step))
        metrics = {
            "train/d_loss": loss,
            "train/d_real_logit": jnp.mean(real_logits),
            "train/d_fake_logit": jnp.mean(fake_logits),
        }
        return Net(params, stats, opt_state), metrics

    def pretrain_step(self, frozen, state: GanState, batch, key):
        """Fidelity-only G step (SRResNet / ARGAN-base, and pre-training before GAN training)."""

        def loss_fn(params):
            restored, stats = self.g_forward(state.g, params, batch["degraded"], key)
            return self.fidelity_loss(frozen, restored, batch["target"]), stats

        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g.params)
        lr = self.g_lr(state.step)
        params, opt_state = adam_step(self.g_tx, state.g.params, state.g.opt_state, grads, lr)
        g = Net(params, stats, opt_state)
        metrics = {"train/fidelity_loss": loss, "train/g_loss": loss, "train/g_lr": lr}
        return state.replace(step=state.step + 1, g=g), metrics

    # -- the generator ------------------------------------------------------------

    @staticmethod
    def generator_variables(state: GanState) -> dict:
        return net_variables(state.g)
