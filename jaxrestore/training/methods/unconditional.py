"""Unconditional GAN training of a prior (002_* Sec. 3.2: a DCGAN on faces).

One step draws ``z ~ U(-1, 1)`` for the batch, updates D on the standard GAN loss
(002_* eq. 2) against G's samples, then updates G on the non-saturating loss
``-log D(G(z))`` through the updated D (the same ``z``). Real and generated images go
through D as separate BatchNorm batches, and G runs in training mode (batch
statistics), as in DCGAN. Images are mapped from the batch's [0, 1] to G's and D's
[-1, 1]. Adam for both (``optimizer.g_lr``/``d_lr``, ``b1``, ``b2``, ``eps``).

Batches hold ``target`` only (the task ``generate``). The surface is the other
methods' (``init``, ``frozen``, ``train_step``, ``pretrain_step`` = ``train_step``,
``generator_variables``, ``latents``), so :mod:`jaxrestore.train` trains a prior like any model.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.losses import adversarial
from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator
from jaxrestore.training.methods.common import Net, PriorMethod, adam_step, uniform_latents
from jaxrestore.training.methods.gan import GanState


class UnconditionalGanMethod(PriorMethod):
    name, label, prior_name, model = "unconditional_gan", "unconditional GAN", "GAN", "dcgan"

    def __init__(self, config):
        super().__init__(config)
        model = config.model
        self.generator = DCGANGenerator(z_dim=self.z_dim, features=model.features, size=config.data.patch_size)
        self.discriminator = DCGANDiscriminator(features=model.d_features)

    def init(self, key, batch) -> GanState:
        return jax.jit(self._init)(key, batch["target"][:1])

    def _init(self, key, target) -> GanState:
        kg, kd = jax.random.split(key)
        g_vars = self.generator.init(kg, jnp.zeros((1, self.z_dim)), train=False)
        d_vars = self.discriminator.init(kd, target * 2.0 - 1.0, train=False)
        g = Net(g_vars["params"], g_vars["batch_stats"], self.g_tx.init(g_vars["params"]))
        d = Net(d_vars["params"], d_vars["batch_stats"], self.d_tx.init(d_vars["params"]))
        return GanState(step=jnp.zeros((), jnp.int32), g=g, d=d)

    def sample(self, g: Net, params, z):
        """G in training mode; returns (images in [-1, 1], updated batch statistics)."""
        images, mut = self.generator.apply({"params": params, "batch_stats": g.batch_stats}, z, train=True,
                                           mutable=["batch_stats"])
        return images, mut["batch_stats"]

    def d_logits(self, d: Net, params, images):
        logits, mut = self.discriminator.apply({"params": params, "batch_stats": d.batch_stats}, images,
                                               train=True, mutable=["batch_stats"])
        return logits, mut["batch_stats"]

    def train_step(self, frozen, state: GanState, batch, key):
        del frozen
        real = batch["target"] * 2.0 - 1.0
        z = uniform_latents(key, real.shape[0], self.z_dim)
        fake, _ = self.sample(state.g, state.g.params, z)
        fake = jax.lax.stop_gradient(fake)

        def d_loss(params):
            real_logits, stats = self.d_logits(state.d, params, real)
            fake_logits, stats = self.d_logits(state.d.replace(batch_stats=stats), params, fake)
            return adversarial.discriminator_loss(real_logits, fake_logits), (stats, real_logits, fake_logits)

        (loss_d, (d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(d_loss, has_aux=True)(
            state.d.params)
        d_params, d_opt = adam_step(self.d_tx, state.d.params, state.d.opt_state, d_grads, self.d_lr(state.step))
        d = Net(d_params, d_stats, d_opt)

        def g_loss(params):
            images, g_stats = self.sample(state.g, params, z)
            logits, _ = self.d_logits(d, d.params, images)
            return adversarial.generator_adversarial_loss(logits), g_stats

        (loss_g, g_stats), g_grads = jax.value_and_grad(g_loss, has_aux=True)(state.g.params)
        g_params, g_opt = adam_step(self.g_tx, state.g.params, state.g.opt_state, g_grads, self.g_lr(state.step))
        metrics = {"train/d_loss": loss_d, "train/g_loss": loss_g,
                   "train/d_real_logit": jnp.mean(real_logits), "train/d_fake_logit": jnp.mean(fake_logits)}
        return state.replace(step=state.step + 1, g=Net(g_params, g_stats, g_opt), d=d), metrics
