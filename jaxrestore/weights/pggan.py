"""PGGAN CelebA-HQ generator weights from the PyTorch inference port
ptrblck/prog_gans_pytorch_inference (what 003_*'s IAGAN code loads) for
:class:`jaxrestore.models.pggan.PGGANGenerator` (Karras et al. 2017).

Two key layouts of the port's ``Generator`` are read:

* ``features`` (the port's current ``model.py``, and its ``transfer_weights.py``, which
  wrote the published ``100_celeb_hq_network-snapshot-010403.pth``):
  ``features.N.conv.weight``, ``features.N.wscale.scale``, ``features.N.wscale.b`` for
  N = 0..17 and ``output.conv.weight`` / ``output.wscale.{scale,b}``;
* ``in_layer`` (the port's first ``model.py``, the same network): ``in_layer.1.weight``,
  ``in_layer.2.{scale,b}``, ``upsampling_layers.M.{conv.weight,wscale.scale,wscale.b}``
  (= ``features.M+1``) and ``out_layer.1.weight``, ``out_layer.2.{scale,b}``.

Resolution, latent size and widths are read off the keys and shapes (a truncated network,
e.g. 16x16, converts too). Kernels go from OIHW to HWIO; each ``scale`` becomes a (1,)
parameter. A file in neither layout, or with missing, extra or mis-shaped arrays, raises
one sentence naming the first offending keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.models.pggan import PGGANGenerator, default_widths
from jaxrestore.weights.state_dict import first_few, load_state_dict

LAYOUTS = ("features", "in_layer")
_BLOCK_KEY = re.compile(r"features\.(\d+)\.conv\.weight$")


class PGGANWeightsError(CheckpointError, ConfigError):
    """A weight file that is not the port's PGGAN generator: a CheckpointError like every
    unusable weight file, and a ConfigError since it is the prior a config names."""


def expected_shapes(*, resolution: int = 1024, latent_dim: int = 512,
                    widths: tuple[int, ...] | None = None) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of the port's state dict (``features`` layout), in the port's order."""
    widths = default_widths(resolution) if widths is None else tuple(widths)
    shapes: dict[str, tuple[int, ...]] = {}

    def block(prefix, cin, cout, k):
        shapes[f"{prefix}.conv.weight"] = (cout, cin, k, k)
        shapes[f"{prefix}.wscale.scale"] = (1,)
        shapes[f"{prefix}.wscale.b"] = (cout,)

    block("features.0", latent_dim, widths[0], 4)
    block("features.1", widths[0], widths[0], 3)
    for level in range(1, len(widths)):
        block(f"features.{2 * level}", widths[level - 1], widths[level], 3)
        block(f"features.{2 * level + 1}", widths[level], widths[level], 3)
    block("output", widths[-1], 3, 1)
    return shapes


def to_features_layout(state_dict: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """The state dict under the ``features`` layout's names, and the layout it came in
    (``in_layer`` keys are renamed; anything else is passed through for the checks)."""
    if not any(k.startswith(_OLD_PREFIXES) for k in state_dict):
        return dict(state_dict), "features"
    return {_from_in_layer(k): v for k, v in state_dict.items()}, "in_layer"


_OLD_PREFIXES = ("in_layer.", "upsampling_layers.", "out_layer.")


def _from_in_layer(key: str) -> str:
    """One key of the port's first layout under the ``features`` layout's name."""
    key = re.sub(r"^in_layer\.1\.weight$", "features.0.conv.weight", key)
    key = re.sub(r"^in_layer\.2\.(scale|b)$", r"features.0.wscale.\1", key)
    key = re.sub(r"^out_layer\.1\.weight$", "output.conv.weight", key)
    key = re.sub(r"^out_layer\.2\.(scale|b)$", r"output.wscale.\1", key)
    if m := re.match(r"upsampling_layers\.(\d+)\.(.*)$", key):
        key = f"features.{int(m.group(1)) + 1}.{m.group(2)}"
    return key


def infer_architecture(state_dict: Mapping[str, np.ndarray]) -> dict:
    """``{"resolution", "latent_dim", "widths"}`` read off a ``features``-layout state dict;
    the 1024x1024 network's where the keys say nothing (the checks then name what is wrong)."""
    blocks = sorted(int(m.group(1)) for k in state_dict if (m := _BLOCK_KEY.match(k)))
    levels = max(1, (max(blocks) + 1) // 2) if blocks else 9
    resolution = 2 ** (levels + 1)
    widths = list(default_widths(resolution))
    for level in range(levels):
        for n in (2 * level + 1, 2 * level):
            shape = np.shape(state_dict.get(f"features.{n}.conv.weight", ()))
            if len(shape) == 4:
                widths[level] = int(shape[0])
                break
    first = np.shape(state_dict.get("features.0.conv.weight", ()))
    latent_dim = int(first[1]) if len(first) == 4 else 512
    return {"resolution": resolution, "latent_dim": latent_dim, "widths": tuple(widths)}


def pggan_torch_arrays(state_dict: Mapping[str, np.ndarray], *, source: str = "the state dict"):
    """Checks a port state dict (either layout) key by key and shape by shape.

    Returns ``(arrays, arch, layout)``: float32 arrays under the ``features`` layout's names
    (``scale`` as shape (1,)), the ``infer_architecture`` dict, and the layout read.
    Raises PGGANWeightsError naming the first unmapped, missing and mis-shaped keys.
    """
    renamed, layout = to_features_layout(state_dict)
    arch = infer_architecture(renamed)
    expected = expected_shapes(**arch)
    rename = _from_in_layer if layout == "in_layer" else str
    unmapped = sorted(k for k in state_dict if rename(k) not in expected)
    missing = [k for k in expected if k not in renamed]
    wrong, arrays = [], {}
    for key, shape in expected.items():
        if key not in renamed:
            continue
        value = np.asarray(renamed[key], np.float32)
        if key.endswith(".scale") and value.size == 1:
            value = value.reshape(1)
        if value.shape != shape:
            wrong.append(f"{key} {value.shape} != {shape}")
        arrays[key] = value
    if not (unmapped or missing or wrong):
        return arrays, arch, layout
    if not any(_BLOCK_KEY.match(k) for k in renamed):
        what = (f"{source} is not a PGGAN generator state dict in the prog_gans_pytorch_inference "
                f"layout: its keys {first_few(unmapped, 3)} map onto nothing and the expected "
                f"{first_few(missing, 3)} are missing")
    else:
        problems = [f"{len(unmapped)} key(s) that map onto nothing ({first_few(unmapped, 3)})" if unmapped else "",
                    f"{len(missing)} missing key(s) ({first_few(missing, 3)})" if missing else "",
                    f"{len(wrong)} mis-shaped array(s) ({first_few(wrong, 2)})" if wrong else ""]
        what = (f"{source} (PGGAN {layout} layout, {arch['resolution']}x{arch['resolution']}, widths "
                f"{list(arch['widths'])}) has " + ", ".join(p for p in problems if p))
    raise PGGANWeightsError(what + "; pass the port's 100_celeb_hq_network-snapshot-010403.pth or a "
                            "state_dict() of its Generator, unmodified.")


def pggan_variables_from_torch(state_dict: Mapping[str, np.ndarray], *, source: str = "the state dict"):
    """Maps a port state dict to ``({"params": ...}, arch, layout)`` for ``PGGANGenerator(**arch)``;
    leaves are float32 NumPy arrays, kernels HWIO."""
    arrays, arch, layout = pggan_torch_arrays(state_dict, source=source)
    params: dict = {}
    for key, value in arrays.items():
        module, _, leaf = key.rpartition(".")  # e.g. "features.3.wscale", "b"
        block, _, part = module.rpartition(".")  # "features.3", "wscale"
        node = params.setdefault(block.replace(".", "_"), {}).setdefault(part, {})
        if leaf == "weight":
            node["kernel"] = value.transpose(2, 3, 1, 0)
        else:
            node[leaf] = value
    return {"params": params}, arch, layout


def build_pggan(arch: Mapping, **kwargs) -> PGGANGenerator:
    """The module for an ``infer_architecture`` dict (``widths`` None when they are PGGAN's)."""
    widths = tuple(arch["widths"])
    return PGGANGenerator(resolution=int(arch["resolution"]), latent_dim=int(arch["latent_dim"]),
                          widths=None if widths == default_widths(int(arch["resolution"])) else widths,
                          **kwargs)


def load_pggan_variables(path: str, *, key: str | None = None):
    """Reads a port weight file (.pth/.pt, or the .npz ``python -m jaxrestore.convert pggan``
    writes): returns ``(variables, arch, description)``."""
    state_dict = load_state_dict(path, key=key)
    variables, arch, layout = pggan_variables_from_torch(state_dict, source=repr(path))
    where = f"{layout} layout" + (f", {key!r} entry" if key else "")
    return variables, arch, where
