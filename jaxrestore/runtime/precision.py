"""Mixed precision for the training steps: ``train.compute_dtype``.

``float32`` (the default) computes everything in float32. ``bfloat16`` (for TPUs and
recent GPUs) runs the networks of a step — G, D, LSRGAN's L and the VGG19 feature net of
the perceptual losses — in bfloat16: :func:`apply` casts the ``params`` and the inputs to
bfloat16 at the call and the outputs back to float32. The parameters, their gradients
(the transpose of the cast), the optimizer states and BatchNorm's running statistics stay
float32, and every loss and metric is computed on float32 outputs. Evaluation and
``restore`` always run in float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(config) -> jnp.dtype:
    """The dtype ``config.train.compute_dtype`` names (float32 if the field is absent)."""
    name = config.train.get("compute_dtype", "float32")
    if name not in COMPUTE_DTYPES:
        raise ConfigError(f"train.compute_dtype={name!r} is not one of {', '.join(COMPUTE_DTYPES)}; use float32, "
                          "or bfloat16 on a TPU or GPU.")
    return COMPUTE_DTYPES[name]


def cast_floating(tree, dtype):
    """``tree`` with every floating-point array cast to ``dtype`` (integers, keys, None kept)."""
    def cast(x):
        if isinstance(x, (jax.Array, float)) or hasattr(x, "dtype"):
            x = jnp.asarray(x)
            if jnp.issubdtype(x.dtype, jnp.floating) and x.dtype != dtype:
                return x.astype(dtype)
        return x

    return jax.tree.map(cast, tree)


def apply(module, variables: dict, *args, dtype=jnp.float32, **kwargs):
    """``module.apply(variables, *args, **kwargs)`` computed in ``dtype``: ``params`` and the
    positional inputs cast to it, every output (and mutated collection) cast back to float32."""
    if dtype == jnp.float32:
        return module.apply(variables, *args, **kwargs)
    variables = {**variables, "params": cast_floating(variables["params"], dtype)}
    out = module.apply(variables, *cast_floating(args, dtype), **kwargs)
    return cast_floating(out, jnp.float32)
