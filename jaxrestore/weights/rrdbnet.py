"""The ESRGAN authors' RRDBNet weights for :class:`jaxrestore.models.rrdbnet.RRDBNet`.

Three key layouts of the same network are in circulation, and all are read:

* ``esrgan_old`` — the original ESRGAN release (``RRDB_ESRGAN_x4.pth`` as first
  published, and the LSRGAN authors' code): one ``model`` Sequential,
  ``model.0`` (first conv), ``model.1.sub.N.RDB{1,2,3}.conv{1..5}.0`` (RRDB N),
  ``model.1.sub.<num_blocks>`` (trunk conv), then per x2 stage ``model.{3u}``
  (upsampling conv u = 1, 2, ...) and ``model.{3n+2}`` / ``model.{3n+4}`` (HR and
  last conv for n stages: ``model.8`` / ``model.10`` at x4);
* ``esrgan`` — the ESRGAN repository's later ``RRDBNet_arch.py``: ``conv_first``,
  ``RRDB_trunk.N.RDB{j}.conv{k}``, ``trunk_conv``, ``upconv{u}``, ``HRconv``,
  ``conv_last``;
* ``basicsr`` — BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdb{j}.conv{k}``,
  ``conv_body``, ``conv_up{u}``, ``conv_hr``, ``conv_last``, usually wrapped in
  ``{"params": ..., "params_ema": ...}`` (``params_ema`` is preferred).

Scale, number of blocks, features and growth are read off the keys and shapes.
Kernels go from PyTorch's OIHW to Flax's HWIO. BasicSR's x1/x2 models, which
pixel-unshuffle their input into 12 or 48 channels, are a different network and
are refused. (The original code's x3 variant, one x3 stage, has exactly the keys
and shapes of its x2 and would be read as x2; the authors released x4 weights only.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import ml_collections
import numpy as np

from jaxrestore.errors import CheckpointError
from jaxrestore.weights.state_dict import first_few, load_state_dict

LAYOUTS = ("esrgan_old", "esrgan", "basicsr")
# Tried in order when the caller names no wrapper: a plain state dict, then BasicSR's.
DEFAULT_WRAPPERS = (None, "params_ema", "params")

_BLOCK_PATTERNS = {
    "esrgan_old": re.compile(r"model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight$"),
    "esrgan": re.compile(r"RRDB_trunk\.(\d+)\.RDB1\.conv1\.weight$"),
    "basicsr": re.compile(r"body\.(\d+)\.rdb1\.conv1\.weight$"),
}


def load_rrdbnet_state_dict(path: str, *, key: str | None = None) -> tuple[dict[str, np.ndarray], str | None]:
    """Reads an RRDBNet weight file; returns (state dict, the wrapper key used or None).

    With ``key`` only that top-level entry is read; without, the file is read as a
    plain state dict, then as BasicSR's ``params_ema``, then ``params``.
    """
    if key:
        return load_state_dict(path, key=key), key
    errors = []
    for wrapper in DEFAULT_WRAPPERS:
        try:
            return load_state_dict(path, key=wrapper), wrapper
        except CheckpointError as err:
            errors.append(err)
    raise errors[0]  # the plain reading's error names the wrappers the file has, or why it is unreadable


def detect_layout(state_dict: Mapping[str, np.ndarray], *, source: str = "the state dict") -> str:
    """Which of ``LAYOUTS`` the keys follow; CheckpointError naming the keys if none."""
    for layout in LAYOUTS:
        if any(_BLOCK_PATTERNS[layout].match(k) for k in state_dict):
            return layout
    keys = sorted(state_dict)
    raise CheckpointError(
        f"{source} is not an ESRGAN RRDBNet state dict: its keys ({first_few(keys)}) do not map onto "
        "RRDBNet; pass the ESRGAN authors' RRDB_ESRGAN_x4.pth or a BasicSR RRDBNet .pth.")


def infer_architecture(state_dict: Mapping[str, np.ndarray], layout: str, *,
                       source: str = "the state dict") -> dict[str, int]:
    """``{"scale", "num_blocks", "features", "growth"}`` read off the keys and shapes."""
    blocks = sorted(int(m.group(1)) for k in state_dict if (m := _BLOCK_PATTERNS[layout].match(k)))
    num_blocks = len(blocks)
    if blocks != list(range(num_blocks)):
        raise CheckpointError(f"{source} numbers its RRDB blocks {first_few([str(b) for b in blocks])}, "
                              "not 0..N-1; the file is damaged or from another network.")
    first = "model.0.weight" if layout == "esrgan_old" else "conv_first.weight"
    if first not in state_dict:
        raise CheckpointError(f"{source} has RRDB blocks but no {first!r}; the file is incomplete.")
    features, in_channels = np.shape(state_dict[first])[:2]
    if layout == "basicsr" and in_channels in (12, 48):
        raise CheckpointError(
            f"{source} is a BasicSR RRDBNet for scale {4 // int(np.sqrt(in_channels // 3))} that "
            "pixel-unshuffles its input; only the x4 RRDBNet (3 input channels) of ESRGAN is supported.")
    growth = np.shape(state_dict[_block_prefix(layout, 0, 1, 1) + ".weight"])[0]
    if layout == "esrgan_old":
        top = [int(m.group(1)) for k in state_dict if (m := re.match(r"model\.(\d+)\.weight$", k))]
        stages, rest = divmod(max(top) - 4, 3)
        if rest or stages not in (0, 1, 2):
            raise CheckpointError(f"{source}'s last layer is model.{max(top)}, which is not the last conv "
                                  "of an x1, x2 or x4 RRDBNet (model.4, model.7 or model.10).")
    else:
        name = "upconv" if layout == "esrgan" else "conv_up"
        stages = sum(f"{name}{u}.weight" in state_dict for u in (1, 2))
    return {"scale": 2 ** stages, "num_blocks": num_blocks, "features": int(features), "growth": int(growth)}


def _block_prefix(layout: str, i: int, j: int, k: int) -> str:
    if layout == "esrgan_old":
        return f"model.1.sub.{i}.RDB{j}.conv{k}.0"
    if layout == "esrgan":
        return f"RRDB_trunk.{i}.RDB{j}.conv{k}"
    return f"body.{i}.rdb{j}.conv{k}"


def conv_table(layout: str, *, scale: int, num_blocks: int, features: int, growth: int):
    """``[(flax module path, torch key prefix, in channels, out channels)]`` for every conv."""
    stages = scale.bit_length() - 1
    nf, gc = features, growth
    names = {
        "esrgan_old": {"first": "model.0", "body": f"model.1.sub.{num_blocks}",
                       "up": lambda u: f"model.{3 * u}", "hr": f"model.{3 * stages + 2}",
                       "last": f"model.{3 * stages + 4}"},
        "esrgan": {"first": "conv_first", "body": "trunk_conv", "up": lambda u: f"upconv{u}",
                   "hr": "HRconv", "last": "conv_last"},
        "basicsr": {"first": "conv_first", "body": "conv_body", "up": lambda u: f"conv_up{u}",
                    "hr": "conv_hr", "last": "conv_last"},
    }[layout]
    table = [(("conv_first",), names["first"], 3, nf)]
    for i in range(num_blocks):
        for j in range(1, 4):
            for k in range(1, 6):
                table.append(((f"block{i}", f"rdb{j}", f"conv{k}"), _block_prefix(layout, i, j, k),
                              nf + (k - 1) * gc, gc if k < 5 else nf))
    table.append((("conv_body",), names["body"], nf, nf))
    table += [((f"conv_up{u}",), names["up"](u), nf, nf) for u in range(1, stages + 1)]
    table += [(("conv_hr",), names["hr"], nf, nf), (("conv_last",), names["last"], nf, 3)]
    return table


def rrdbnet_variables_from_torch(state_dict: Mapping[str, np.ndarray], *, source: str = "the state dict"):
    """Maps an RRDBNet state dict (any of ``LAYOUTS``) to RRDBNet's Flax variables.

    Returns ``(variables, architecture, layout)``: ``variables`` is ``{"params": ...}``
    with float32 NumPy leaves, ``architecture`` the ``infer_architecture`` dict.
    Raises CheckpointError naming keys that are missing, left over or mis-shaped.
    """
    layout = detect_layout(state_dict, source=source)
    arch = infer_architecture(state_dict, layout, source=source)
    params: dict = {}
    used, missing, wrong = set(), [], []
    for path, prefix, cin, cout in conv_table(layout, **arch):
        arrays = {}
        for leaf, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
            name = f"{prefix}.{leaf}"
            if name not in state_dict:
                missing.append(name)
                continue
            used.add(name)
            if tuple(np.shape(state_dict[name])) != shape:
                wrong.append(f"{name} {tuple(np.shape(state_dict[name]))} != {shape}")
                continue
            arrays[leaf] = np.asarray(state_dict[name], np.float32)
        if len(arrays) == 2:
            node = params
            for part in path:
                node = node.setdefault(part, {})
            node["kernel"] = arrays["weight"].transpose(2, 3, 1, 0)
            node["bias"] = arrays["bias"]
    described = (f"{source} ({layout} layout, x{arch['scale']}, {arch['num_blocks']} blocks, "
                 f"{arch['features']} features, growth {arch['growth']})")
    if missing:
        raise CheckpointError(f"{described} lacks {len(missing)} key(s) ({first_few(missing, 4)}); "
                              "the file is incomplete or from a modified RRDBNet.")
    if wrong:
        raise CheckpointError(f"{described} has {len(wrong)} array(s) of the wrong shape "
                              f"({first_few(wrong, 3)}); the file is from a modified RRDBNet.")
    extra = sorted(set(state_dict) - used)
    if extra:
        raise CheckpointError(f"{described} has {len(extra)} key(s) that do not map onto RRDBNet "
                              f"({first_few(extra, 4)}); the file is from another or a modified network.")
    return {"params": params}, arch, layout


def rrdbnet_state_dict(variables: Mapping, *, layout: str = "basicsr") -> tuple[dict[str, np.ndarray], dict]:
    """The inverse of :func:`rrdbnet_variables_from_torch`: RRDBNet's Flax variables as a PyTorch
    state dict in one of ``LAYOUTS`` (kernels HWIO -> OIHW, float32). Returns ``(state dict,
    architecture)``; the architecture is read off the parameters."""
    if layout not in LAYOUTS:
        raise CheckpointError(f"unknown RRDBNet key layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")
    params = variables.get("params", variables)
    if "conv_first" not in params or "block0" not in params:
        raise CheckpointError(f"the generator is not an RRDBNet (its parameters are {first_few(sorted(params))}); "
                              "only RRDBNet runs (rrdbnet_psnr, esrgan, lsrgan and their variants) can be exported.")
    arch = {"scale": 2 ** sum(1 for k in params if k.startswith("conv_up")),
            "num_blocks": sum(1 for k in params if k.startswith("block")),
            "features": int(np.shape(params["conv_first"]["kernel"])[-1]),
            "growth": int(np.shape(params["block0"]["rdb1"]["conv1"]["kernel"])[-1])}
    state = {}
    for path, prefix, _, _ in conv_table(layout, **arch):
        node = params
        for part in path:
            node = node[part]
        state[f"{prefix}.weight"] = np.asarray(node["kernel"], np.float32).transpose(3, 2, 0, 1).copy()
        state[f"{prefix}.bias"] = np.asarray(node["bias"], np.float32).copy()
    return state, arch


def rrdbnet_run_config(arch: Mapping[str, int]):
    """The config.json of a converted run: the task and exactly RRDBNet's architecture fields
    (``init_from`` compares only the keys both configs have)."""
    return ml_collections.ConfigDict({
        "task": {"name": "sr", "scale": int(arch["scale"])},
        "model": {"generator": "rrdbnet", "num_blocks": int(arch["num_blocks"]),
                  "features": int(arch["features"]), "growth": int(arch["growth"])},
    })


def load_rrdbnet_variables(path: str, *, key: str | None = None):
    """Reads an RRDBNet weight file: returns ``(variables, architecture, description)``."""
    state_dict, wrapper = load_rrdbnet_state_dict(path, key=key)
    variables, arch, layout = rrdbnet_variables_from_torch(state_dict, source=repr(path))
    where = f"{layout} layout" + (f", {wrapper!r} entry" if wrapper else "")
    return variables, arch, where
