"""Training methods, one class each, chosen by ``config.method`` from :data:`METHODS`.

Each method exposes ``init(key, batch)``, ``frozen``, ``train_step(frozen, state, batch,
key)``, ``pretrain_step(...)``, ``generator_variables(state)`` and ``with_generator``, and
declares what the loop needs to know about it (:class:`~jaxrestore.training.methods.common.Method`):
the tasks it trains, whether it is adversarial, whether it starts from a pretrained generator and
from which config, and how its encoder starts. The training loop knows nothing else. A new method
is one new module and one entry in :data:`METHODS`.
"""

from __future__ import annotations

from jaxrestore.errors import ConfigError
from jaxrestore.training.methods.began import BeganMethod
from jaxrestore.training.methods.common import Method
from jaxrestore.training.methods.constrained import ConstrainedMethod
from jaxrestore.training.methods.esrgan import EsrganMethod
from jaxrestore.training.methods.joint import JointMethod
from jaxrestore.training.methods.unconditional import UnconditionalGanMethod

METHODS: dict[str, type[Method]] = {m.name: m for m in (JointMethod, ConstrainedMethod, EsrganMethod,
                                                        UnconditionalGanMethod, BeganMethod)}


def method_class(config) -> type[Method]:
    """The class of ``config.method``, after checking it trains ``config.task.name`` and its own settings."""
    if config.method not in METHODS:
        raise ConfigError(
            f"unknown method {config.method!r}; set config.method to one of {sorted(METHODS)}.")
    cls = METHODS[config.method]
    task = config.task.name
    if task not in cls.tasks:
        raise ConfigError(f"the {cls.name} method trains task {' or '.join(map(repr, cls.tasks))} only, not task "
                          f"{task!r}; set config.task.name={cls.tasks[0]!r}.")
    cls.check(config)
    return cls


def build_method(config) -> Method:
    return method_class(config)(config)


def preferred_checkpoint(config) -> str:
    """What ``which="auto"`` reads first from a run of ``config``: ``best`` (validation PSNR-Y) for a
    fidelity-only run, ``latest`` for an adversarial one, whose best-PSNR generator is usually one
    from before or early in the GAN phase (the adversarial term trades PSNR for realism, which is
    the point). A run directory without a method (converted weights) prefers ``best``."""
    cls = METHODS.get(config.get("method"))
    return "latest" if cls is not None and cls.adversarial(config) else "best"


__all__ = ["METHODS", "BeganMethod", "ConstrainedMethod", "EsrganMethod", "JointMethod", "Method",
           "UnconditionalGanMethod", "build_method", "method_class", "preferred_checkpoint"]
