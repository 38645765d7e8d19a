"""Relativistic average GAN losses of ESRGAN (Wang et al., 2018, Sec. 3.2), 001's L_D^Ra and L_G^Ra.

With ``C`` the discriminator's raw logit, ``D_Ra(a, b) = sigmoid(C(a) - E_b[C(b)])``:

    L_D^Ra = -E_xr[log D_Ra(xr, xf)] - E_xf[log(1 - D_Ra(xf, xr))]
    L_G^Ra = -E_xr[log(1 - D_Ra(xr, xf))] - E_xf[log D_Ra(xf, xr)]

Both are halved here, as the ESRGAN code does (the mean of the real and the fake
term, each a ``BCEWithLogitsLoss`` mean). In D's loss the expectation inside each
sigmoid is *not* detached: D's gradient flows through E[C(xf)] in the real term and
through E[C(xr)] in the fake term, as in the original ESRGAN training code
(``codes/models/SRGAN_model.py``, ``gan_type == 'ragan'``: ``l_d_total = (l_d_real +
l_d_fake) / 2`` on ``pred_d_real - torch.mean(pred_d_fake)``). BasicSR's later
``esrgan_model.py`` detaches the other term's mean in D's loss (``real_d_pred.detach()``,
``fake_d_pred.detach()``, to run two backward passes), which changes D's gradient;
G's loss is the same in both, with its gradient through both terms. ``-log sigmoid(s) = softplus(-s)`` and
``-log(1 - sigmoid(s)) = softplus(s)`` keep large logits finite. Logits of any
shape are averaged over all their elements.

``axis_name``: when the batch is split over a named device axis (``pmap``,
``shard_map``, ``vmap``), every expectation, the ones inside the sigmoid and the
outer means, is taken over the whole global batch with ``lax.pmean``, so N
devices holding equal shares of a batch compute the loss of the unsplit batch.
Gradients taken per device then follow the usual data-parallel rule: the
``pmean`` over devices of the per-device parameter gradients is the gradient of
the unsplit loss. Under plain ``jit`` with sharded arrays leave it ``None``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _mean(x, axis_name):
    m = jnp.mean(x)
    return m if axis_name is None else jax.lax.pmean(m, axis_name)


def _relativistic_logits(real_logits, fake_logits, axis_name):
    """``(C(xr) - E[C(xf)], C(xf) - E[C(xr)])``: the logits of D_Ra(xr, xf) and D_Ra(xf, xr)."""
    real_logits = jnp.asarray(real_logits, jnp.float32)
    fake_logits = jnp.asarray(fake_logits, jnp.float32)
    return real_logits - _mean(fake_logits, axis_name), fake_logits - _mean(real_logits, axis_name)


def relativistic_discriminator_loss(real_logits, fake_logits, *, axis_name=None):
    """Half of ESRGAN's L_D^Ra: ``(-E log D_Ra(xr, xf) - E log(1 - D_Ra(xf, xr))) / 2``."""
    real_rel, fake_rel = _relativistic_logits(real_logits, fake_logits, axis_name)
    return 0.5 * (_mean(jax.nn.softplus(-real_rel), axis_name) + _mean(jax.nn.softplus(fake_rel), axis_name))


def relativistic_generator_loss(real_logits, fake_logits, *, axis_name=None):
    """Half of ESRGAN's L_G^Ra: ``(-E log(1 - D_Ra(xr, xf)) - E log D_Ra(xf, xr)) / 2``.

    Unlike the standard GAN's, the generator's gradient flows through both terms:
    ``fake_logits`` appears in each, through ``E[C(xf)]`` in the first.
    """
    real_rel, fake_rel = _relativistic_logits(real_logits, fake_logits, axis_name)
    return 0.5 * (_mean(jax.nn.softplus(real_rel), axis_name) + _mean(jax.nn.softplus(-fake_rel), axis_name))
