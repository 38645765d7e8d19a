"""The constrained adversarial update of 000_* (cSRGAN, cARGAN), eqs. (7)-(11), Algorithm 1.

One iteration, all inside one jitted function:

1. D takes k = 1 step on eq. (5) against G_theta's output.
2. theta_1 = f(l1_G(theta)): an Adam step on the fidelity loss (eqs. 7, 9).
3. theta_2 = f(l2_G(theta_1)): a temporary Adam step on the adversarial loss
   -log D(G(y)) from theta_1 (eqs. 8, 10).
4. theta' = theta_2 if l1_G(theta_2) < l1_G(theta_1) else theta_1 (eq. 11), on the
   same minibatch. The choice is one ``lax.cond`` over the two candidate
   (params, adversarial Adam state) pytrees, so a rejected step leaves no trace
   in the optimizer either.

f is Adam for each loss, and each loss has its own Adam state. 000_* does not
say whether the two updates share one; we read eqs. (9)-(10) as f applied to
each loss. With one shared state, reverted on rejection, the second-moment
estimate only ever sees fidelity gradients, which are small near convergence,
so an adversarial gradient of larger magnitude takes a step of up to
lr / sqrt(1 - beta2) ~ 30 lr per weight: on the quick preset (lr 2e-3) that
raised the fidelity loss about 20-fold and no candidate was accepted. With its
own state the adversarial step is about lr per weight. The learning rate still
decides how often a candidate helps: on the quick preset, 0 % accepted at
2e-3, 4-8 % at 000_*'s 1e-4 (measured; see README).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.losses import adversarial
from jaxrestore.methods.gan import GanMethod, GanState, Net, adam_step


class ConstrainedMethod(GanMethod):
    uses_discriminator = True
    separate_adversarial_optimizer = True

    def train_step(self, frozen, state: GanState, batch, key):
        degraded, target = batch["degraded"], batch["target"]
        lr = self.g_lr(state.step)

        # Step 1 and the fidelity gradient at theta share one forward pass.
        restored, g_vjp, g_stats = jax.vjp(
            lambda p: self.g_forward(state.g, p, degraded, key), state.g.params, has_aux=True)
        d, metrics = self.d_update(state.d, state.step, target, jax.lax.stop_gradient(restored),
                                   degraded)
        fid0, d_restored = jax.value_and_grad(
            lambda images: self.fidelity_loss(frozen, images, target))(restored)
        (fid_grads,) = g_vjp(d_restored)

        # Step 2: theta_1, eq. (9).
        params1, opt1 = adam_step(self.g_tx, state.g.params, state.g.opt_state, fid_grads, lr)

        # Step 3: theta_2, eq. (10); the same pass gives l1_G(theta_1).
        def adversarial_loss(params):
            images, _ = self.g_forward(state.g, params, degraded, key)
            adv = adversarial.generator_adversarial_loss(self.d_logits(d, images, degraded))
            return adv, images

        (adv1, restored1), adv_grads = jax.value_and_grad(adversarial_loss, has_aux=True)(params1)
        fid1 = self.fidelity_loss(frozen, restored1, target)
        params2, adv_opt2 = adam_step(self.g_tx, params1, state.g_adv_opt_state, adv_grads, lr)

        # Step 4: eq. (11).
        restored2, _ = self.g_forward(state.g, params2, degraded, key)
        fid2 = self.fidelity_loss(frozen, restored2, target)
        accept = fid2 < fid1
        params, adv_opt = jax.lax.cond(
            accept, lambda c: c[0], lambda c: c[1],
            ((params2, adv_opt2), (params1, state.g_adv_opt_state)))

        metrics.update({
            "train/fidelity_loss": fid0,
            "train/g_loss": fid0,
            "train/fidelity_loss_theta1": fid1,
            "train/fidelity_loss_theta2": fid2,
            "train/adversarial_loss": adv1,
            "train/accept": accept.astype(jnp.float32),
            "train/g_lr": lr,
        })
        g = Net(params, g_stats, opt1)
        return state.replace(step=state.step + 1, g=g, d=d, g_adv_opt_state=adv_opt), metrics
