"""A training run's generator exported the other way: an RRDBNet run (rrdbnet_psnr, esrgan,
lsrgan, ...) as a PyTorch state dict in one of the three ESRGAN key layouts, for BasicSR and the
ESRGAN code (``python -m jaxrestore.convert esrgan_export``)."""

from __future__ import annotations

import os
from pathlib import Path

from safetensors.numpy import save_file

from jaxrestore.errors import ConfigError
from jaxrestore.training.runs import load_run_generator
from jaxrestore.weights.rrdbnet import rrdbnet_state_dict


def export_esrgan(input_path: str, output_path: str, *, overwrite: bool = False, layout: str = "basicsr",
                  which: str = "auto") -> str:
    """The other direction: an RRDBNet run's generator (``--input`` a run directory) -> a PyTorch
    state dict in one of the ESRGAN key layouts, as ``.safetensors`` (no torch needed; PyTorch
    reads it with ``safetensors.torch.load_file``) or ``.pth`` (needs torch)."""
    suffix = Path(output_path).suffix.lower()
    if suffix not in (".safetensors", ".pth"):
        raise ConfigError(f"--output={output_path!r} must end in .safetensors or .pth (PyTorch's formats).")
    if Path(output_path).exists() and not overwrite:
        raise ConfigError(f"{output_path!r} exists; pass --overwrite to replace it, or choose another --output.")
    variables, step, which_used = load_run_generator(input_path, which=which)
    state, arch = rrdbnet_state_dict(variables, layout=layout)
    tmp = Path(output_path).with_name(f".{Path(output_path).name}.tmp")
    try:
        if suffix == ".safetensors":
            save_file(state, str(tmp))
        else:
            try:
                import torch  # local: torch is optional (the torch extra); only a .pth needs it
            except ImportError:
                raise ConfigError("writing a .pth needs PyTorch; install torch or write .safetensors instead.") from None
            torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp)
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    return (f"wrote {output_path} (RRDBNet x{arch['scale']}, {arch['num_blocks']} blocks, {arch['features']} "
            f"features, growth {arch['growth']}; {layout} layout, {len(state)} arrays; from {input_path}, "
            f"{which_used} checkpoint at step {step})")
