"""BEGAN training of a prior (Berthelot, Schumm, Metz 2017; the 128x128 CelebA prior of 003_*),
as carpedm20's BEGAN-tensorflow trains it.

D is an autoencoder and L(v) = mean |D(v) - v| its L1 reconstruction error. One step draws
``z ~ U(-1, 1)`` for the batch, runs G and D once, and takes both gradients from that one
forward pass at the step's parameters (the reference runs D's and G's optimizers in one
``session.run``: a simultaneous update, G's step does not see D's new weights):

    L_D = L(x) - k_t L(G(z))   for D's parameters     (BEGAN eq. 4)
    L_G = L(G(z))              for G's parameters, through D and through G(z) itself
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
    M = L(x) + |gamma L(x) - L(G(z))|                 (the convergence measure, logged)

``loss.gamma`` (0.5), ``loss.lambda_k`` (0.001), k_0 = 0; k_t lives in the training state, so a
resumed run continues with the same k. Adam (``optimizer.b1``, ``b2``, ``eps``) for G and D at
``g_lr``/``d_lr`` with the piecewise schedule of the other methods (``lr_boundaries``,
``lr_decay``). Batches hold ``target`` in [0, 1] (the task ``generate``), mapped to [-1, 1].

The surface is UnconditionalGanMethod's (``init``, ``frozen``, ``train_step``,
``pretrain_step`` = ``train_step``, ``generator_variables``, ``generator``, ``z_dim``,
``latents``), so :mod:`jaxrestore.train` and the sample grids / FID of
:mod:`jaxrestore.training.evaluators` need nothing new.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.models.began import BEGANDiscriminator, BEGANGenerator, num_blocks
from jaxrestore.training.methods.common import Net, PriorMethod, adam_step, uniform_latents


@struct.dataclass
class BeganState:
    """The whole training state: G and D (``batch_stats`` empty: no BatchNorm) and k_t."""

    step: jax.Array
    g: Net
    d: Net
    k: jax.Array


def reconstruction_loss(images, reconstructions):
    """L(v) = mean |D(v) - v| over pixels, channels and the batch (BEGAN eq. 2 with eta = 1)."""
    return jnp.mean(jnp.abs(reconstructions - images))


def k_update(k, loss_real, loss_fake, *, gamma: float, lambda_k: float):
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (BEGAN eq. 4)."""
    return jnp.clip(k + lambda_k * (gamma * loss_real - loss_fake), 0.0, 1.0)


def _number(section, name: str, low: float, high: float) -> float:
    value = section.get(name, None)
    if value is None or not low <= float(value) <= high:
        raise ConfigError(f"BEGAN needs loss.{name} in [{low}, {high}], got {value!r}; the reference "
                          "uses gamma=0.5 and lambda_k=0.001 (configs/began.py).")
    return float(value)


class BeganMethod(PriorMethod):
    name, label, prior_name, model = "began", "BEGAN", "BEGAN", "began"

    def __init__(self, config):
        super().__init__(config)
        model = config.model
        self.size = int(config.data.patch_size)
        num_blocks(self.size)  # one clear error for an impossible image size
        self.gamma = _number(config.loss, "gamma", 0.0, 1.0)
        self.lambda_k = _number(config.loss, "lambda_k", 0.0, 1.0)
        self.generator = BEGANGenerator(z_dim=self.z_dim, features=int(model.features), size=self.size)
        self.discriminator = BEGANDiscriminator(features=int(model.d_features), size=self.size,
                                                code_dim=int(model.code_dim))

    def init(self, key, batch) -> BeganState:
        return jax.jit(self._init)(key, batch["target"][:1])

    def _init(self, key, target) -> BeganState:
        kg, kd = jax.random.split(key)
        g_params = self.generator.init(kg, jnp.zeros((1, self.z_dim)))["params"]
        d_params = self.discriminator.init(kd, target * 2.0 - 1.0)["params"]
        return BeganState(step=jnp.zeros((), jnp.int32),
                          g=Net(g_params, {}, self.g_tx.init(g_params)),
                          d=Net(d_params, {}, self.d_tx.init(d_params)),
                          k=jnp.zeros((), jnp.float32))

    def reconstruction_error(self, d_params, images):
        """L(v) for images ``v`` in [-1, 1]."""
        return reconstruction_loss(images, self.discriminator.apply({"params": d_params}, images))

    def train_step(self, frozen, state: BeganState, batch, key):
        del frozen
        real = batch["target"] * 2.0 - 1.0
        z = uniform_latents(key, real.shape[0], self.z_dim)
        # One forward and one backward pass of G and of D on each half: L(G(z))'s gradient
        # serves both D (scaled by -k_t) and G (through the generated images).
        fake, g_vjp = jax.vjp(lambda p: self.generator.apply({"params": p}, z), state.g.params)
        loss_fake, fake_vjp = jax.vjp(self.reconstruction_error, state.d.params, fake)
        d_grads_fake, fake_grads = fake_vjp(jnp.ones_like(loss_fake))
        loss_real, d_grads_real = jax.value_and_grad(self.reconstruction_error)(state.d.params, real)
        d_grads = jax.tree.map(lambda r, f: r - state.k * f, d_grads_real, d_grads_fake)
        (g_grads,) = g_vjp(fake_grads)
        d_params, d_opt = adam_step(self.d_tx, state.d.params, state.d.opt_state, d_grads, self.d_lr(state.step))
        g_params, g_opt = adam_step(self.g_tx, state.g.params, state.g.opt_state, g_grads, self.g_lr(state.step))
        k = k_update(state.k, loss_real, loss_fake, gamma=self.gamma, lambda_k=self.lambda_k)
        balance = self.gamma * loss_real - loss_fake
        metrics = {"train/d_loss": loss_real - state.k * loss_fake, "train/g_loss": loss_fake,
                   "train/d_loss_real": loss_real, "train/d_loss_fake": loss_fake,
                   "train/k_t": state.k, "train/balance": balance,
                   "train/measure": loss_real + jnp.abs(balance)}
        return state.replace(step=state.step + 1, g=state.g.replace(params=g_params, opt_state=g_opt),
                             d=state.d.replace(params=d_params, opt_state=d_opt), k=k), metrics
