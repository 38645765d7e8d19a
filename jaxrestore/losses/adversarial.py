"""Adversarial losses of the original GAN as used by SRGAN (000 eqs. 4-5).

The discriminator returns logits ``s`` with ``D = sigmoid(s)``. With
``-log(sigmoid(s)) = softplus(-s)`` and ``-log(1 - sigmoid(s)) = softplus(s)`` both
losses are computed without forming D, so large logits neither overflow nor give
``log(0)``. Logits of any shape are averaged over all elements.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def generator_adversarial_loss(fake_logits):
    """Mean of ``-log D(G(y))`` over ``fake_logits`` (000 eq. 4, the non-saturating loss)."""
    fake_logits = jnp.asarray(fake_logits, jnp.float32)
    return jnp.mean(jax.nn.softplus(-fake_logits))


def discriminator_loss(real_logits, fake_logits):
    """Mean of ``-[log D(x) + log(1 - D(G(y)))]`` (000 eq. 5).

    Each term is averaged over its own logits, so real and fake batches may differ
    in shape; for equal shapes this is the mean of eq. 5 over the batch.
    """
    real_logits = jnp.asarray(real_logits, jnp.float32)
    fake_logits = jnp.asarray(fake_logits, jnp.float32)
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
