"""Training methods; ``build_method(config)`` picks one by ``config.method``.

Each method exposes ``init(key, batch)``, ``frozen``, ``train_step(frozen, state,
batch, key)``, ``pretrain_step(...)``, ``generator_variables(state)`` and
``apply_generator(variables, degraded)``; the training loop knows nothing else.
"""

from __future__ import annotations

from jaxrestore.errors import ConfigError


def _methods():
    from jaxrestore.methods.began import BeganMethod
    from jaxrestore.methods.constrained import ConstrainedMethod
    from jaxrestore.methods.esrgan import EsrganMethod
    from jaxrestore.methods.joint import JointMethod
    from jaxrestore.methods.unconditional import UnconditionalGanMethod

    return {"joint": JointMethod, "constrained": ConstrainedMethod, "esrgan": EsrganMethod,
            "unconditional_gan": UnconditionalGanMethod, "began": BeganMethod}


def build_method(config):
    methods = _methods()
    if config.method not in methods:
        raise ConfigError(
            f"unknown method {config.method!r}; set config.method to one of {sorted(methods)}.")
    return methods[config.method](config)
