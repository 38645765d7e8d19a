"""The joint update of 000_* eq. (6): l_G = l_fid + lambda * l_adv (SRResNet, SRGAN, ARGAN).

Per iteration (k = 1 as in Ledig et al. and 000_*): D takes one step on eq. (5)
against the current G's output, then G takes one step on eq. (6) through the
updated D. With lambda = 0 there is no D and the step is the fidelity-only step
(SRResNet-MSE / ARGAN-base).

G's forward pass is shared by both updates: ``jax.vjp`` keeps its residuals
while D is updated, and the gradient of eq. (6) with respect to the restored
images is pulled back through them.
"""

from __future__ import annotations

import jax

from jaxrestore.losses import adversarial
from jaxrestore.training.methods.common import Net, adam_step
from jaxrestore.training.methods.gan import GanMethod, GanState


class JointMethod(GanMethod):
    name = "joint"

    def __init__(self, config):
        self.uses_discriminator = config.loss.adversarial_weight > 0
        super().__init__(config)

    def train_step(self, frozen, state: GanState, batch, key):
        if self.discriminator is None:
            return self.pretrain_step(frozen, state, batch, key)
        weight = self.config.loss.adversarial_weight
        degraded, target = batch["degraded"], batch["target"]

        restored, g_vjp, g_stats = jax.vjp(
            lambda p: self.g_forward(state.g, p, degraded, key), state.g.params, has_aux=True)
        d, metrics = self.d_update(state.d, state.step, target, jax.lax.stop_gradient(restored),
                                   degraded)

        def loss_of_restored(images):
            fid = self.fidelity_loss(frozen, images, target)
            adv = adversarial.generator_adversarial_loss(self.d_logits(d, images, degraded))
            return fid + weight * adv, (fid, adv)

        (loss, (fid, adv)), d_restored = jax.value_and_grad(loss_of_restored, has_aux=True)(restored)
        (grads,) = g_vjp(d_restored)
        lr = self.g_lr(state.step)
        params, opt_state = adam_step(self.g_tx, state.g.params, state.g.opt_state, grads, lr)
        metrics.update({
            "train/g_loss": loss,
            "train/fidelity_loss": fid,
            "train/adversarial_loss": adv,
            "train/g_lr": lr,
        })
        return state.replace(step=state.step + 1, g=Net(params, g_stats, opt_state), d=d), metrics
