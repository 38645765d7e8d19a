"""The converters of ``python -m jaxrestore.convert``: foreign (PyTorch) weight files into files
this package reads without torch. Each reads its file through :mod:`jaxrestore.weights.state_dict`
(which checks every key and shape), writes its output atomically, and returns one summary line.
"""

from __future__ import annotations


import numpy as np

from jaxrestore.runtime.atomic import atomic_open, check_target
from jaxrestore.runtime.checkpoints import write_generator_run
from jaxrestore.weights.inception import inception_torch_arrays
from jaxrestore.weights.pggan import pggan_torch_arrays
from jaxrestore.weights.rrdbnet import load_rrdbnet_variables, rrdbnet_run_config
from jaxrestore.weights.state_dict import load_state_dict
from jaxrestore.weights.vgg19 import torchvision_features


def write_npz(path: str, arrays: dict[str, np.ndarray], *, overwrite: bool = False) -> None:
    """Writes ``arrays`` to ``path`` (.npz) via a temporary file and ``os.replace``."""
    check_target(path, suffix=".npz", hint="name the output file like vgg19.npz", overwrite=overwrite)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def convert_vgg19(input_path: str, output_path: str, *, overwrite: bool = False) -> str:
    """torchvision vgg19 state dict -> torch-free .npz of its ``features`` convolutions."""
    features = torchvision_features(load_state_dict(input_path))  # validates keys and shapes
    write_npz(output_path, features, overwrite=overwrite)
    return f"wrote {output_path} ({len(features)} VGG19 feature arrays from {input_path})"


def convert_inception(input_path: str, output_path: str, *, overwrite: bool = False) -> str:
    """FID (pytorch-fid) or torchvision Inception-v3 state dict -> torch-free .npz of its layers."""
    arrays = inception_torch_arrays(load_state_dict(input_path))  # validates keys and shapes
    write_npz(output_path, arrays, overwrite=overwrite)
    return f"wrote {output_path} ({len(arrays)} FID Inception arrays from {input_path})"


def convert_esrgan(input_path: str, output_path: str, *, overwrite: bool = False,
                   key: str | None = None) -> str:
    """ESRGAN RRDBNet state dict (any of its key layouts) -> generator-only run directory."""
    variables, arch, where = load_rrdbnet_variables(input_path, key=key)  # validates keys and shapes
    write_generator_run(output_path, rrdbnet_run_config(arch), variables, overwrite=overwrite)
    return (f"wrote {output_path} (RRDBNet x{arch['scale']}, {arch['num_blocks']} blocks, "
            f"{arch['features']} features, growth {arch['growth']}; from {input_path}, {where})")


def convert_pggan(input_path: str, output_path: str, *, overwrite: bool = False) -> str:
    """prog_gans_pytorch_inference PGGAN generator state dict -> torch-free .npz in its layout."""
    arrays, arch, layout = pggan_torch_arrays(load_state_dict(input_path),
                                              source=repr(input_path))  # validates keys and shapes
    write_npz(output_path, arrays, overwrite=overwrite)
    size = sum(a.size for a in arrays.values())
    return (f"wrote {output_path} (PGGAN {arch['resolution']}x{arch['resolution']}, {len(arrays)} arrays, "
            f"{size:,} parameters; from {input_path}, {layout} layout)")
