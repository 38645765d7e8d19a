"""FID Inception weights for :class:`jaxrestore.models.inception.FIDInceptionV3`.

The weights come from pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (or
torchvision's ``inception_v3`` state dict, which names the layers used here the
same way), or from the torch-free ``.npz`` that ``python -m jaxrestore.convert
inception`` writes from either. Each ``BasicConv2d`` contributes
``<layer>.conv.weight`` (OIHW) and ``<layer>.bn.weight/bias/running_mean/running_var``,
e.g. ``Mixed_5b.branch1x1.conv.weight``; ``fc.*``, ``AuxLogits.*`` and
``*.num_batches_tracked`` are ignored. The result is the module's variables,
``{"params": ..., "batch_stats": ...}``, to be used as
``FIDInceptionV3().apply(variables, x)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import CheckpointError
from jaxrestore.models.inception import MIN_SIZE, FIDInceptionV3
from jaxrestore.weights.state_dict import first_few, load_state_dict

# PyTorch BatchNorm2d name -> (Flax collection, Flax name).
_BN_ARRAYS = {
    "weight": ("params", "scale"),
    "bias": ("params", "bias"),
    "running_mean": ("batch_stats", "mean"),
    "running_var": ("batch_stats", "var"),
}


@functools.lru_cache(maxsize=1)
def _layer_shapes() -> tuple[tuple[str, tuple[int, int, int, int]], ...]:
    """``(PyTorch layer prefix, OIHW kernel shape)`` of every BasicConv2d, from the Flax model."""
    x = jax.ShapeDtypeStruct((1, MIN_SIZE, MIN_SIZE, 3), jnp.float32)
    shapes = jax.eval_shape(FIDInceptionV3().init, jax.random.PRNGKey(0), x)["params"]
    layers = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]:
        names = [entry.key for entry in path]
        if names[-2:] == ["conv", "kernel"]:
            kh, kw, cin, cout = leaf.shape
            layers.append((".".join(names[:-2]), (cout, cin, kh, kw)))
    return tuple(layers)


def expected_torch_shapes() -> dict[str, tuple[int, ...]]:
    """Every key the FID Inception needs from a PyTorch state dict, with its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, kernel in _layer_shapes():
        shapes[f"{layer}.conv.weight"] = kernel
        for name in _BN_ARRAYS:
            shapes[f"{layer}.bn.{name}"] = (kernel[0],)
    return shapes


def inception_torch_arrays(state_dict: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays the FID Inception uses, under their PyTorch keys, as float32.

    Raises CheckpointError naming missing keys or keys of the wrong shape.
    """
    expected = expected_torch_shapes()
    missing = [k for k in expected if k not in state_dict]
    if missing:
        raise CheckpointError(
            f"The Inception state dict lacks {len(missing)} of its {len(expected)} key(s) "
            f"({first_few(missing, 4)}); use pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
            "or a torchvision inception_v3 state dict."
        )
    wrong = [
        f"{k} {tuple(np.shape(state_dict[k]))} != {shape}"
        for k, shape in expected.items()
        if tuple(np.shape(state_dict[k])) != shape
    ]
    if wrong:
        raise CheckpointError(
            f"The Inception state dict has {len(wrong)} array(s) of the wrong shape "
            f"({first_few(wrong, 3)}); use an Inception-v3 state dict, not another model's."
        )
    return {k: np.asarray(state_dict[k], dtype=np.float32) for k in expected}


def inception_variables_from_torch(state_dict: Mapping[str, np.ndarray]) -> dict:
    """Maps an FID/torchvision Inception-v3 state dict to ``{"params", "batch_stats"}``.

    Kernels go from PyTorch's OIHW to Flax's HWIO. The leaves are device arrays; pass
    them to jitted code as an argument, not a closure, so that 90 MB of weights are
    not baked into the compiled program.
    """
    arrays = inception_torch_arrays(state_dict)
    variables: dict = {"params": {}, "batch_stats": {}}
    for layer, _ in _layer_shapes():
        path = layer.split(".")
        params = _subtree(variables["params"], path)
        params["conv"] = {"kernel": jnp.asarray(arrays[f"{layer}.conv.weight"].transpose(2, 3, 1, 0))}
        for torch_name, (collection, flax_name) in _BN_ARRAYS.items():
            bn = _subtree(variables[collection], path).setdefault("bn", {})
            bn[flax_name] = jnp.asarray(arrays[f"{layer}.bn.{torch_name}"])
    return variables


def load_inception_variables(path: str | os.PathLike) -> dict:
    """FID Inception variables from a .pth/.pt, .safetensors or converted .npz file."""
    return inception_variables_from_torch(load_state_dict(path))


def random_inception_variables(key) -> dict:
    """Random variables with the real ones' tree, for tests: a forward pass stays O(1).

    He-normal kernels; batch-norm scale in [0.5, 1.5], bias and running mean normal
    (std 0.1), running variance in [0.5, 2], drawn with NumPy from a seed taken from
    ``key`` (drawing 24M numbers with JAX's threefry is slow on a CPU).
    """
    seed = np.asarray(jax.random.key_data(key), dtype=np.uint32).ravel().tolist()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    state: dict[str, np.ndarray] = {}
    for layer, (cout, cin, kh, kw) in _layer_shapes():
        std = np.sqrt(2.0 / (cin * kh * kw))
        state[f"{layer}.conv.weight"] = rng.standard_normal((cout, cin, kh, kw), dtype=np.float32) * std
        state[f"{layer}.bn.weight"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
        state[f"{layer}.bn.bias"] = rng.normal(0.0, 0.1, cout).astype(np.float32)
        state[f"{layer}.bn.running_mean"] = rng.normal(0.0, 0.1, cout).astype(np.float32)
        state[f"{layer}.bn.running_var"] = rng.uniform(0.5, 2.0, cout).astype(np.float32)
    return inception_variables_from_torch(state)


def _subtree(tree: dict, path: list[str]) -> dict:
    for name in path:
        tree = tree.setdefault(name, {})
    return tree
