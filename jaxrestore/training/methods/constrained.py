"""The constrained adversarial update of 000_* (cSRGAN, cARGAN), eqs. (7)-(11), Algorithm 1.

One iteration, all inside one jitted function:

1. D takes k = 1 step on eq. (5) against G_theta's output.
2. theta_1 = f(l1_G(theta)): an Adam step on the fidelity loss (eqs. 7, 9).
3. theta_2 = f(l2_G(theta_1)): a temporary Adam step on the adversarial loss
   -log D(G(y)) from theta_1 (eqs. 8, 10).
4. theta' = theta_2 if l1_G(theta_2) < l1_G(theta_1) else theta_1 (eq. 11), on the
   same minibatch. The choice is one ``lax.cond`` over the two candidate
   (params, adversarial Adam state) pytrees.

f is Adam for each loss, and each loss has its own Adam state. 000_* does not
say whether the two updates share one; we read eqs. (9)-(10) as f applied to
each loss. With one shared state, reverted on rejection, the second-moment
estimate only ever sees fidelity gradients, which are small near convergence,
so an adversarial gradient of larger magnitude takes a step of up to
lr / sqrt(1 - beta2) ~ 30 lr per weight, which can raise the fidelity loss so
far that no candidate is accepted.

What a rejection does to the adversarial Adam state is ``optimizer.adversarial_moments``:

* ``keep`` (the default): the adversarial moments advance on every iteration,
  accepted or not, and only the parameters are reverted. This is the natural
  reading of "f = Adam for each loss" (000_* says nothing of reverting optimizer
  state): Adam's moments then average the adversarial gradient over iterations,
  as Adam does for any loss.
* ``revert``: a rejected candidate leaves no trace, its Adam state included. Until
  the first acceptance, and mostly afterwards at acceptance rates of a few
  percent, every candidate is then a *first* Adam step, lr * g / (|g| + eps),
  which is lr * sign(g) whatever the gradient's magnitude.

docs/papers/000-constrained.md gives the measured step sizes and the quick presets'
acceptance rate and final PSNR with each.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError
from jaxrestore.losses import adversarial
from jaxrestore.training.methods.common import Net, adam_step
from jaxrestore.training.methods.gan import GanMethod, GanState


ADVERSARIAL_MOMENTS = ("keep", "revert")


class ConstrainedMethod(GanMethod):
    name = "constrained"
    uses_discriminator = True
    separate_adversarial_optimizer = True

    @classmethod
    def adversarial(cls, config) -> bool:
        return True  # eq. (8)'s l2_G is the adversarial loss alone, whatever loss.adversarial_weight says

    def __init__(self, config):
        moments = config.optimizer.get("adversarial_moments", "keep")
        if moments not in ADVERSARIAL_MOMENTS:
            raise ConfigError(f"unknown optimizer.adversarial_moments={moments!r}; set it to 'keep' (the "
                              "adversarial Adam moments advance on every step) or 'revert' (a rejected "
                              "candidate also reverts them).")
        self.keep_adversarial_moments = moments == "keep"
        super().__init__(config)

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
        rejected_adv_opt = adv_opt2 if self.keep_adversarial_moments else state.g_adv_opt_state
        params, adv_opt = jax.lax.cond(
            accept, lambda c: c[0], lambda c: c[1],
            ((params2, adv_opt2), (params1, rejected_adv_opt)))

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
