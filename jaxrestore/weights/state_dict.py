"""Reads foreign weight files into a flat ``{key: np.ndarray}`` state dict.

Supported: PyTorch ``.pth``/``.pt`` (read with ``torch.load(weights_only=True)``;
torch is imported only here and only for these files), ``.safetensors`` and
``.npz``. A top-level wrapper such as ``{"state_dict": ...}`` or BasicSR's
``{"params": ..., "params_ema": ...}`` is unwrapped only when the caller names it
with ``key=``. Arrays keep the file's layout (e.g. PyTorch OIHW kernels); mapping
to Flax parameters is the job of the model-specific modules beside this one.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence

import numpy as np
from safetensors.numpy import load_file

from jaxrestore.errors import CheckpointError

TORCH_SUFFIXES = (".pth", ".pt")
SUFFIXES = (*TORCH_SUFFIXES, ".safetensors", ".npz")


def load_state_dict(path: str | os.PathLike, *, key: str | Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Returns the arrays of a weight file as ``{name: np.ndarray}``.

    Args:
      path: a ``.pth``/``.pt``, ``.safetensors`` or ``.npz`` file.
      key: unwrap this top-level entry (e.g. ``"state_dict"``, ``"params_ema"``); a
        sequence names alternatives tried in order (e.g. ``("params_ema", "params")``).
        For the flat formats (.safetensors, .npz) it selects the names prefixed
        ``"{key}."`` and strips the prefix.

    Raises:
      CheckpointError: the file is missing, of an unknown kind, unreadable, refused
        by the safe unpickler, or the wrapper asked for is not in it.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise CheckpointError(
            f"Weight file {path!r} has an unknown suffix {suffix or '(none)'!r}; "
            f"use one of {', '.join(SUFFIXES)}."
        )
    if not os.path.isfile(path):
        raise CheckpointError(f"Weight file {path!r} does not exist; check the path.")

    if suffix in TORCH_SUFFIXES:
        tree = _load_torch(path)
    elif suffix == ".safetensors":
        tree = _load_safetensors(path)
    else:
        tree = _load_npz(path)

    if key is not None:
        tree = _unwrap(tree, key, path)
    return _flat_arrays(tree, path)


def _load_torch(path: str) -> Mapping:
    try:
        import torch  # local: torch is optional (the torch extra); only a .pth file needs it
    except ImportError:
        raise CheckpointError(
            f"Reading {path!r} needs PyTorch; `pip install torch`, or convert the file to "
            ".npz/.safetensors on a machine that has it (e.g. `python -m jaxrestore.convert`)."
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Never retry with weights_only=False: that would execute code from the file.
        raise CheckpointError(
            f"torch.load(weights_only=True) refused {path!r} because it holds Python objects "
            "other than tensors (or is not a PyTorch file), and it is never loaded unsafely; "
            "re-save only the state dict (torch.save(model.state_dict(), ...)) or export it "
            "to .safetensors/.npz where you trust its source."
        ) from None
    except Exception as err:  # Corrupt archives surface as RuntimeError and friends.
        raise CheckpointError(
            f"Cannot read {path!r} as a PyTorch file ({_first_line(err)}); check that the "
            "download is complete and the file is a torch.save() state dict."
        ) from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"{path!r} holds a {type(obj).__name__}, not a state dict; save "
            "model.state_dict() rather than the model or a tensor."
        )
    return _torch_to_numpy(obj, torch)


def _torch_to_numpy(obj, torch):
    """Converts tensors (recursively through dicts) to NumPy; other leaves are kept."""
    if isinstance(obj, Mapping):
        return {str(k): _torch_to_numpy(v, torch) for k, v in obj.items()}
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu()
        if tensor.dtype == torch.bfloat16:  # NumPy has no bfloat16.
            tensor = tensor.float()
        return tensor.numpy()
    return obj


def _load_safetensors(path: str) -> dict[str, np.ndarray]:
    try:
        return dict(load_file(path))
    except Exception as err:  # safetensors raises its own error types for bad headers/dtypes.
        raise CheckpointError(
            f"Cannot read {path!r} as safetensors ({_first_line(err)}); check that the file "
            "is complete and holds float tensors."
        ) from None


def _load_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception as err:  # BadZipFile, or ValueError for pickled object arrays.
        raise CheckpointError(
            f"Cannot read {path!r} as an .npz of plain arrays ({_first_line(err)}); "
            "write it with numpy.savez and no object arrays."
        ) from None


def _unwrap(tree: Mapping, key: str | Sequence[str], path: str) -> Mapping:
    keys = (key,) if isinstance(key, str) else tuple(key)
    for name in keys:
        value = tree.get(name)
        if isinstance(value, Mapping):
            return value
        prefix = name + "."
        flat = {k[len(prefix):]: v for k, v in tree.items() if k.startswith(prefix)}
        if flat:
            return flat
    found = sorted({k.split(".", 1)[0] for k in tree})
    raise CheckpointError(
        f"{path!r} has no {' or '.join(repr(k) for k in keys)} entry (its top-level keys "
        f"start {first_few(found)}); pass the wrapper key the file really uses, or none."
    )


def _flat_arrays(tree: Mapping, path: str) -> dict[str, np.ndarray]:
    nested = sorted(k for k, v in tree.items() if isinstance(v, Mapping))
    if nested:
        raise CheckpointError(
            f"{path!r} wraps its weights in {first_few(nested)}; choose one with "
            "key=... (e.g. 'state_dict', 'params' or 'params_ema')."
        )
    arrays = {k: np.asarray(v) for k, v in tree.items() if isinstance(v, np.ndarray)}
    if not arrays:
        raise CheckpointError(f"{path!r} holds no arrays; it is not a weight file.")
    return arrays


def first_few(names: Sequence[str], n: int = 5) -> str:
    """Formats the first ``n`` names for an error message, e.g. "a, b and 3 more"."""
    shown = ", ".join(repr(s) for s in list(names)[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
