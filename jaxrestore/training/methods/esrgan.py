"""ESRGAN, LSRGAN, CESRGAN and CLSRGAN (001_*): one per-device step updating D, G and L.

The four models of 001_* Table 1 differ only in two switches:

* ``loss.perceptual`` — ``vgg``: L_percep, the L1 distance of VGG19 ``conv5_4``
  features before the ReLU (ESRGAN, Wang et al. 2018, Sec. 3.3; 001_* eqs. 1, 10);
  ``contextual``: the cosine contextual loss CCX on ``conv3_4`` (eqs. 11-13);
  ``none``: no perceptual term (the offline quick presets of esrgan/lsrgan).
* ``model.encoder`` — ``lsr``: the companion encoder L and the latent-space
  regularisation (LSRGAN / CLSRGAN); empty: no L (ESRGAN / CESRGAN).

The generator's loss is eq. (10) (eq. 13 with CCX)::

    l_G = percep + lambda * L_G^Ra + eta * |y - G(z)|_1 - mu * |L(y) - L(G(z))|_1

with the minus sign as written in eqs. (8), (10) and (13), and L's own loss is
eq. (9), ``|L(y) - L(G(z))|_1``. D takes the relativistic average loss of ESRGAN.
With ``loss.adversarial_weight = 0`` the method is stage 1 of 001_* 4.1, the
PSNR-oriented pre-training: G on L1 (LR -> HR) and, when there is an L, L on
L1 against the bicubic LR (HR -> LR); ``train.pretrain_steps`` runs that stage
inside a GAN run (the quick presets).

One training iteration (``_device_step``), as 001_* 4.1 ("we alternately update
the D, G, and L"): D takes one Adam step on its loss against G's current output;
G takes one step on eq. (10) through the updated D; L takes one step on eq. (9)
with the images G produced in this iteration. Only eq. (9) moves L, and eq. (10)
moves only G (L and D enter it as fixed functions).

Parallelism: ``_device_step`` is written per device, with named-axis collectives
over ``AXIS`` — gradients and metrics are all-reduced with ``lax.pmean``, D's
BatchNorm and the relativistic expectations E[C(x)] are taken over the global
batch — and :func:`jaxrestore.runtime.parallel.map_over_devices` maps it over the devices.
That is the program ``jax.pmap(step, axis_name=AXIS)`` runs (the tests run it
both ways), expressed with ``jax.shard_map`` so that it composes with the
loop's jit, global arrays and orbax checkpoints; one device and N devices give
the same step for the same global batch (tested with 4 forced host devices).

An exponential moving average of G's weights (``train.ema_decay`` > 0) is kept
in the state and saved beside the raw weights in the checkpoint's ``generator``
item as ``ema``; ``evaluate``/``restore`` use it only when asked (``--ema``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.losses import pixel
from jaxrestore.losses.contextual import vgg_contextual_loss
from jaxrestore.losses.perceptual import vgg_feature_loss
from jaxrestore.losses.relativistic import relativistic_discriminator_loss, relativistic_generator_loss
from jaxrestore.models import build_discriminator, build_encoder, build_generator
from jaxrestore.runtime import parallel, precision
from jaxrestore.training.methods.common import Method, Net, adam_step, frozen_vgg, lr_schedule

AXIS = parallel.DATA_AXIS
PERCEPTUAL_LOSSES = ("vgg", "contextual", "none")


@struct.dataclass
class EsrganState:
    """The training state; ``d`` is None in the PSNR-oriented stage, ``l`` None without
    an encoder, ``ema`` None without a weight average."""

    step: jax.Array
    g: Net
    d: Net | None
    l: Net | None
    ema: Any = None


def _pmean(tree):
    return jax.lax.pmean(tree, AXIS)


def _plain(params) -> dict:
    return {"params": params}


class EsrganMethod(Method):
    """Builds G (RRDBNet), D (VGG-style, 128x128), the optional encoder L and the losses."""

    name = "esrgan"
    tasks = ("sr",)  # RRDBNet upsamples
    fidelity_config = "configs/rrdbnet_psnr.py"

    @classmethod
    def check(cls, config) -> None:
        if config.get("init_encoder_from") and not config.model.get("encoder"):
            raise ConfigError("init_encoder_from is set but this config has no encoder (model.encoder is empty); "
                              "drop init_encoder_from or use configs/lsrgan.py / clsrgan.py.")

    @classmethod
    def uses_encoder(cls, config) -> bool:
        return bool(config.model.get("encoder"))

    @classmethod
    def encoder_must_start(cls, config) -> bool:
        """L of a GAN run starts from stage 1 (``init_encoder_from``, or an ``init_from`` run with an
        L), unless this run pre-trains it."""
        return cls.adversarial(config) and config.train.pretrain_steps <= 0

    encoder_start = ("LSRGAN's encoder L starts from stage 1: set --config.init_encoder_from=WORKDIR of "
                     "a configs/rrdbnet_psnr.py run (or init_from such a run), or "
                     "--config.train.pretrain_steps=N to pre-train it here.")
    encoder_source = ("holds no encoder L; pass a configs/rrdbnet_psnr.py run (trained with model.encoder='lsr') "
                      "as init_encoder_from.")

    def __init__(self, config):
        self.config = config
        loss_cfg, opt_cfg = config.loss, config.optimizer
        if loss_cfg.perceptual not in PERCEPTUAL_LOSSES:
            raise ConfigError(f"unknown perceptual loss {loss_cfg.perceptual!r}; set config.loss.perceptual "
                              f"to one of {list(PERCEPTUAL_LOSSES)}.")
        self.trains_discriminator = loss_cfg.adversarial_weight > 0
        self.generator = build_generator(config.model, scale=config.task.scale)
        self.discriminator = build_discriminator(config.model, axis_name=AXIS) if self.trains_discriminator else None
        self.encoder = build_encoder(config.model, scale=config.task.scale) if config.model.encoder else None
        self.ema_decay = float(config.train.get("ema_decay", 0.0))
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay={self.ema_decay} must be in [0, 1); 0 turns the average off.")
        self.tx = optax.scale_by_adam(opt_cfg.b1, opt_cfg.b2, opt_cfg.eps)
        self.g_lr = lr_schedule(opt_cfg, opt_cfg.g_lr)
        self.d_lr = lr_schedule(opt_cfg, opt_cfg.d_lr)
        self.l_lr = lr_schedule(opt_cfg, opt_cfg.get("l_lr", opt_cfg.g_lr))
        self.dtype = precision.compute_dtype(config)
        self.frozen = frozen_vgg(config) if self.trains_discriminator and loss_cfg.perceptual != "none" else {}
        self.train_step = parallel.map_over_devices(self._device_step)
        self.pretrain_step = parallel.map_over_devices(self._device_pretrain_step)

    # -- state -----------------------------------------------------------------

    def init(self, key, batch) -> EsrganState:
        return jax.jit(self._init)(key, {"degraded": batch["degraded"][:1], "target": batch["target"][:1]})

    def _init(self, key, batch) -> EsrganState:
        g_key, d_key, l_key = jax.random.split(key, 3)
        g_params = self.generator.init(g_key, batch["degraded"], train=False)["params"]
        d = l = None
        if self.discriminator is not None:
            d_vars = self.discriminator.init(d_key, batch["target"], train=False)
            d = Net(d_vars["params"], d_vars.get("batch_stats", {}), self.tx.init(d_vars["params"]))
        if self.encoder is not None:
            l_params = self.encoder.init(l_key, batch["target"], train=False)["params"]
            l = Net(l_params, {}, self.tx.init(l_params))
        state = EsrganState(step=jnp.zeros((), jnp.int32), g=None, d=d, l=l)
        return self.with_generator(state, {"params": g_params})

    def with_generator(self, state: EsrganState, variables) -> EsrganState:
        """``state`` with G's weights replaced (``init_from``); optimizer state and EMA restart."""
        params = variables["params"]
        ema = jax.tree.map(jnp.copy, params) if self.ema_decay > 0 else None  # own buffers: donated
        return state.replace(g=Net(params, {}, self.tx.init(params)), ema=ema)

    def with_encoder(self, state: EsrganState, params) -> EsrganState:
        """``state`` with L's weights replaced (a stage-1 run's L); its optimizer state restarts."""
        return state.replace(l=Net(params, {}, self.tx.init(params)))

    def generator_variables(self, state: EsrganState) -> dict:
        """What the checkpoint's ``generator`` item holds: G's ``params``, and ``ema`` and
        ``encoder`` (L's params) where the run has them."""
        variables = {"params": state.g.params}
        if state.ema is not None:
            variables["ema"] = state.ema
        if state.l is not None:
            variables["encoder"] = state.l.params
        return variables

    # -- pieces of the step ------------------------------------------------------

    def g_apply(self, params, lr):
        return precision.apply(self.generator, _plain(params), lr, train=True, dtype=self.dtype)

    def l_apply(self, params, hr):
        return precision.apply(self.encoder, _plain(params), hr, train=True, dtype=self.dtype)

    def d_apply(self, d: Net, params, images):
        """D in training mode; BatchNorm statistics over the global batch. Returns
        (logits, new batch_stats)."""
        logits, mutated = precision.apply(self.discriminator, {"params": params, "batch_stats": d.batch_stats},
                                          images, train=True, mutable=["batch_stats"], dtype=self.dtype)
        return logits, mutated["batch_stats"]

    def perceptual_loss(self, frozen, restored, target):
        loss_cfg = self.config.loss
        if loss_cfg.perceptual == "vgg":
            return vgg_feature_loss(frozen["vgg"], restored, target, layer=loss_cfg.vgg_layer,
                                    feature_scale=loss_cfg.vgg_feature_scale, distance="l1", dtype=self.dtype)
        if loss_cfg.perceptual == "contextual":
            return vgg_contextual_loss(frozen["vgg"], restored, target, layer=loss_cfg.contextual_layer,
                                       bandwidth=loss_cfg.contextual_bandwidth, dtype=self.dtype)
        return jnp.zeros((), jnp.float32)

    def _adam(self, net: Net, grads, lr, batch_stats=None) -> Net:
        params, opt_state = adam_step(self.tx, net.params, net.opt_state, _pmean(grads), lr)
        return Net(params, net.batch_stats if batch_stats is None else batch_stats, opt_state)

    def _update_ema(self, state: EsrganState, g: Net):
        if state.ema is None:
            return None
        decay = self.ema_decay
        return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, state.ema, g.params)

    def _l_pretrain_update(self, l: Net, step, hr, lr_images):
        """Stage 1: one Adam step of L on |L(y) - bicubic LR|_1 (HR -> LR)."""
        loss, grads = jax.value_and_grad(lambda p: pixel.l1(self.l_apply(p, hr), lr_images))(l.params)
        return self._adam(l, grads, self.l_lr(step)), loss

    def _l_update(self, l: Net, step, hr, restored):
        """Eq. (9): one Adam step of L on |L(y) - L(G(z))|_1; both terms depend on L."""
        loss, grads = jax.value_and_grad(
            lambda p: pixel.l1(self.l_apply(p, hr), self.l_apply(p, restored)))(l.params)
        return self._adam(l, grads, self.l_lr(step)), loss

    # -- the steps -----------------------------------------------------------------

    def _device_pretrain_step(self, frozen, state: EsrganState, batch, key):
        """Stage 1 of 001_* 4.1 on this device's share of the batch: L1 for G (LR -> HR)
        and for L (HR -> bicubic LR)."""
        del frozen, key
        lr_images, hr = batch["degraded"], batch["target"]
        loss, grads = jax.value_and_grad(lambda p: pixel.l1(self.g_apply(p, lr_images), hr))(state.g.params)
        g_lr = self.g_lr(state.step)
        g = self._adam(state.g, grads, g_lr)
        metrics = {"train/l1_loss": loss, "train/g_loss": loss, "train/g_lr": g_lr}
        l = state.l
        if l is not None:
            l, l_loss = self._l_pretrain_update(l, state.step, hr, lr_images)
            metrics["train/l_loss"] = l_loss
        new = state.replace(step=state.step + 1, g=g, l=l, ema=self._update_ema(state, g))
        return new, _pmean(metrics)

    def _device_step(self, frozen, state: EsrganState, batch, key):
        """D, then G on eq. (10)/(13), then L on eq. (9), on this device's share of the batch."""
        if self.discriminator is None:
            return self._device_pretrain_step(frozen, state, batch, key)
        loss_cfg, step = self.config.loss, state.step
        lr_images, hr = batch["degraded"], batch["target"]
        restored, g_vjp = jax.vjp(lambda p: self.g_apply(p, lr_images), state.g.params)
        fake = jax.lax.stop_gradient(restored)

        # D: relativistic average loss, real and fake as separate BatchNorm batches.
        def d_loss_fn(params):
            real_logits, stats = self.d_apply(state.d, params, hr)
            fake_logits, stats = self.d_apply(state.d.replace(batch_stats=stats), params, fake)
            loss = relativistic_discriminator_loss(real_logits, fake_logits, axis_name=AXIS)
            return loss, (stats, real_logits, fake_logits)

        (d_loss, (d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(
            d_loss_fn, has_aux=True)(state.d.params)
        d = self._adam(state.d, d_grads, self.d_lr(step), batch_stats=d_stats)

        # G: eq. (10) (eq. 13 with the contextual loss) through the updated D.
        real_logits_new, _ = self.d_apply(d, d.params, hr)
        real_logits_new = jax.lax.stop_gradient(real_logits_new)
        l_target = None if state.l is None else jax.lax.stop_gradient(self.l_apply(state.l.params, hr))

        def g_loss_of_restored(images):
            percep = self.perceptual_loss(frozen, images, hr)
            fake_logits_g, _ = self.d_apply(d, d.params, images)
            adv = relativistic_generator_loss(real_logits_new, fake_logits_g, axis_name=AXIS)
            l1 = pixel.l1(images, hr)
            total = percep + loss_cfg.adversarial_weight * adv + loss_cfg.l1_weight * l1
            lsr = jnp.zeros((), jnp.float32)
            if l_target is not None:
                lsr = pixel.l1(self.l_apply(state.l.params, images), l_target)
                total = total - loss_cfg.lsr_weight * lsr  # the sign of eq. (10)
            return total, {"train/perceptual_loss": percep, "train/adversarial_loss": adv,
                           "train/l1_loss": l1, "train/lsr_loss": lsr}

        (g_loss, g_terms), d_restored = jax.value_and_grad(g_loss_of_restored, has_aux=True)(restored)
        (g_grads,) = g_vjp(d_restored)
        g_lr = self.g_lr(step)
        g = self._adam(state.g, g_grads, g_lr)

        # L: eq. (9) on this iteration's G(z); it is the only loss that moves L.
        l = state.l
        metrics = {"train/d_loss": d_loss, "train/g_loss": g_loss, "train/g_lr": g_lr,
                   "train/d_real_logit": jnp.mean(real_logits), "train/d_fake_logit": jnp.mean(fake_logits),
                   **g_terms}
        if l is not None:
            l, l_loss = self._l_update(l, step, hr, fake)
            metrics["train/l_loss"] = l_loss
        new = state.replace(step=step + 1, g=g, d=d, l=l, ema=self._update_ema(state, g))
        return new, _pmean(metrics)
