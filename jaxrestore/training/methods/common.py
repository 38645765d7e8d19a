"""What every training method shares: one network's trainable state, Adam steps at a scheduled
learning rate, the frozen VGG19 of the perceptual losses, the latents of a GAN prior, and the
:class:`Method` declarations the training loop reads instead of a method's name.

Optimizers are optax's Adam *direction* (``scale_by_adam``); the learning rate is applied by
:func:`adam_step` from the schedule at the iteration counter, so a method that takes two Adam
steps per iteration (the constrained update) still follows the schedule in iterations.
"""

from __future__ import annotations

from typing import Any

import jax
import optax
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.weights.vgg19 import load_vgg19_params


@struct.dataclass
class Net:
    """One network's trainable state."""

    params: Any
    batch_stats: Any
    opt_state: Any


def lr_schedule(opt_cfg, base_lr: float) -> optax.Schedule:
    """Piecewise-constant learning rate: multiplied by ``lr_decay`` at each of ``lr_boundaries``."""
    boundaries = tuple(int(b) for b in opt_cfg.lr_boundaries)
    return optax.piecewise_constant_schedule(base_lr, {b: float(opt_cfg.lr_decay) for b in boundaries})


def adam_step(tx: optax.GradientTransformation, params, opt_state, grads, lr):
    """One Adam step with learning rate ``lr``; returns (params, opt_state)."""
    direction, opt_state = tx.update(grads, opt_state, params)
    params = jax.tree.map(lambda p, d: p - lr * d, params, direction)
    return params, opt_state


def net_variables(net: Net, params=None) -> dict:
    """The Flax variables of ``net`` (``params`` in place of its own when given)."""
    return {"params": net.params if params is None else params, "batch_stats": net.batch_stats}


def frozen_vgg(config) -> dict:
    """``{"vgg": params}``: the VGG19 of a perceptual loss (``loss.vgg_weights``, or random weights
    where ``loss.vgg_random_init`` asks for them), passed to the jitted steps as an argument."""
    loss_cfg = config.loss
    return {"vgg": load_vgg19_params(loss_cfg.vgg_weights, allow_random=loss_cfg.vgg_random_init,
                                     key=jax.random.key(config.seed + 1))}


def uniform_latents(key, n: int, z_dim: int):
    """``n`` latents ``z ~ U(-1, 1)`` of ``z_dim`` numbers (the DCGAN and BEGAN priors' distribution)."""
    return jax.random.uniform(key, (n, z_dim), minval=-1.0, maxval=1.0)


class Method:
    """What the training loop asks of a method besides its steps (``init``, ``frozen``,
    ``train_step``, ``pretrain_step``, ``generator_variables``, ``with_generator``): the
    declarations below, read from the class before anything is built or written."""

    name = ""  # the config's ``method``
    tasks: tuple[str, ...] = ()  # the tasks (config.task.name) it trains
    # The config whose fidelity-only run a GAN config of this method starts from; empty: the task's.
    fidelity_config = ""

    @classmethod
    def adversarial(cls, config) -> bool:
        """Whether G trains against a discriminator (then a run's latest checkpoint, not its
        best-PSNR one, is the model: the adversarial term trades PSNR for realism)."""
        return float(config.loss.adversarial_weight) > 0

    @classmethod
    def needs_pretrained_generator(cls, config) -> bool:
        """Whether G must start from a fidelity-only run (``init_from``) or pre-train here."""
        return cls.adversarial(config)

    @classmethod
    def check(cls, config) -> None:
        """Raises ConfigError for settings this method cannot train with (before anything is built)."""

    # A second network that starts from a run too (LSRGAN's encoder L); none by default.
    encoder_start = ""  # the sentence that says where it must start from, when it must
    encoder_source = ""  # the end of the sentence for a run that holds none ("<run> holds no ...")

    @classmethod
    def uses_encoder(cls, config) -> bool:
        """Whether this config trains an encoder beside G (``with_encoder`` sets its weights)."""
        return False

    @classmethod
    def encoder_must_start(cls, config) -> bool:
        """Whether the encoder must come from a run (``init_encoder_from``, or an ``init_from`` run
        that has one) rather than from its initialisation."""
        return False


class PriorMethod(Method):
    """What the methods that train a GAN prior share (the unconditional GAN, BEGAN): the task
    ``generate``, an adversarial game from scratch, one step that serves as the pre-training step
    too, latents ``z ~ U(-1, 1)`` of ``z_dim`` numbers, and G's variables in ``state.g``."""

    tasks = ("generate",)
    label = ""  # how messages name the method, e.g. "unconditional GAN"
    prior_name = "GAN"  # how messages name the prior it trains
    model = ""  # what config.model.generator and .discriminator name (its config: configs/<model>.py)

    @classmethod
    def check(cls, config) -> None:
        model = config.model
        if model.get("generator") != cls.model or model.get("discriminator") != cls.model:
            raise ConfigError(f"the {cls.label} method trains the {cls.model.upper()} prior: set "
                              f"config.model.generator and config.model.discriminator to {cls.model!r} "
                              f"(see configs/{cls.model}.py).")

    @classmethod
    def adversarial(cls, config) -> bool:
        return True  # the adversarial game is the whole objective

    @classmethod
    def needs_pretrained_generator(cls, config) -> bool:
        return False  # a prior is trained from scratch

    def __init__(self, config):
        self.check(config)
        self.config = config
        opt = config.optimizer
        self.z_dim = int(config.model.z_dim)
        self.g_tx = optax.scale_by_adam(opt.b1, opt.b2, opt.eps)
        self.d_tx = optax.scale_by_adam(opt.b1, opt.b2, opt.eps)
        self.g_lr, self.d_lr = lr_schedule(opt, opt.g_lr), lr_schedule(opt, opt.d_lr)
        self.frozen: dict[str, Any] = {}

    def pretrain_step(self, frozen, state, batch, key):
        return self.train_step(frozen, state, batch, key)

    def latents(self, key, n: int):
        """``n`` latents of G's distribution, z ~ U(-1, 1)."""
        return uniform_latents(key, n, self.z_dim)

    @staticmethod
    def generator_variables(state) -> dict:
        return net_variables(state.g)

    def with_generator(self, state, variables):
        raise ConfigError(f"a {self.prior_name} prior is trained from scratch here; drop config.init_from.")
