r"""Converts foreign (PyTorch) weights into files this package reads without torch.

Usage:

  python -m jaxrestore.convert vgg19 --input=vgg19-dcbb9e9d.pth --output=vgg19.npz
  python -m jaxrestore.convert inception --input=pt_inception-2015-12-05-6726825d.pth \
      --output=inception_fid.npz
  python -m jaxrestore.convert esrgan --input=RRDB_ESRGAN_x4.pth --output=runs/esrgan_official
  python -m jaxrestore.convert pggan --input=100_celeb_hq_network-snapshot-010403.pth \
      --output=pggan_celebahq_1024.npz
  python -m jaxrestore.convert esrgan_export --input=runs/lsrgan --output=lsrgan_x4.safetensors \
      [--layout=basicsr|esrgan|esrgan_old]

The first positional argument names the model; each model has one converter in
``CONVERTERS``. ``vgg19`` turns a torchvision vgg19 state dict (.pth/.pt or
.safetensors) into an .npz holding only the sixteen ``features.N.weight/bias``
arrays in torchvision's layout, which ``jaxrestore.weights.load_vgg19_params``
(``--config.loss.vgg_weights=vgg19.npz``) reads without PyTorch. ``inception``
does the same for the FID Inception-v3 (pytorch-fid's ``pt_inception-2015-12-05``
weights, or a torchvision inception_v3 state dict): the .npz keeps the 94
convolutions and batch norms under their PyTorch names and is read by
``jaxrestore.weights.inception.load_inception_variables`` and
``jaxrestore.metrics.fid.InceptionFeatures``. ``esrgan`` turns the ESRGAN
authors' RRDBNet generator (the original ``model.N`` layout, the later
``RRDB_trunk`` one, or BasicSR's, whose ``params_ema`` is preferred to ``params``;
``--key`` names another wrapper) into a run directory (config.json and
``checkpoints/0/generator``) that ``evaluate --checkpoint``, ``restore
--checkpoint`` and ``--config.init_from`` read; scale, blocks, features and growth
come from the file. ``pggan`` checks the PGGAN CelebA-HQ generator of the PyTorch port
ptrblck/prog_gans_pytorch_inference (either of its key layouts) and writes its 57
arrays under the port's current names to an .npz that
``jaxrestore.weights.pggan.load_pggan_variables`` reads without PyTorch. ``esrgan_export``
goes the other way: the generator of an RRDBNet run (rrdbnet_psnr, esrgan, lsrgan, ...)
as a PyTorch state dict in one of the three ESRGAN key layouts (``.safetensors``, or
``.pth`` with torch installed), for BasicSR and the ESRGAN code. Outputs are
written atomically: a temporary file (or directory) beside the target, then a rename.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence

from absl import flags

from jaxrestore.errors import ConfigError
from jaxrestore.runtime.cli import run_cli
from jaxrestore.training.export import export_esrgan
from jaxrestore.weights.converters import convert_esrgan, convert_inception, convert_pggan, convert_vgg19


def _flag_values() -> flags.FlagValues:
    """This tool's flags, in a private FlagValues so they never clash with other CLIs' flags."""
    fv = flags.FlagValues()
    flags.DEFINE_string("input", None, "Foreign weight file (.pth/.pt, .safetensors, .npz).", flag_values=fv)
    flags.DEFINE_string("output", None, "Where to write the converted weights.", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace --output if it already exists.", flag_values=fv)
    flags.DEFINE_string("key", None, "esrgan: the top-level entry holding the weights (e.g. params_ema, "
                        "params); default: the file itself, else params_ema, else params.", flag_values=fv)
    flags.DEFINE_enum("layout", None, ["basicsr", "esrgan", "esrgan_old"], "esrgan_export: the key layout to "
                      "write (default basicsr).", flag_values=fv)
    return fv


# Model name -> converter(input_path, output_path, *, overwrite[, key, layout]) returning a summary line.
CONVERTERS: dict[str, Callable[..., str]] = {
    "vgg19": convert_vgg19,
    "inception": convert_inception,
    "esrgan": convert_esrgan,
    "pggan": convert_pggan,
    "esrgan_export": export_esrgan,
}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point; ``argv`` defaults to ``sys.argv`` (program name first)."""
    argv = list(sys.argv if argv is None else argv)
    fv = _flag_values()
    if any(arg in ("-h", "--help", "-help", "--helpfull") for arg in argv[1:]):
        print(__doc__ + "\nFlags:\n" + fv.get_help())
        return
    try:
        positional = fv(argv)[1:]
    except flags.Error as err:
        raise ConfigError(f"{err}; run `python -m jaxrestore.convert --help` for the flags.") from None
    models = ", ".join(CONVERTERS)  # in registration order
    if len(positional) != 1 or positional[0] not in CONVERTERS:
        got = " ".join(positional) or "nothing"
        raise ConfigError(
            f"Name exactly one model to convert (one of: {models}) but got {got}; e.g. "
            "`python -m jaxrestore.convert vgg19 --input=vgg19-dcbb9e9d.pth --output=vgg19.npz`."
        )
    if not fv.input or not fv.output:
        raise ConfigError("Both --input and --output are required; pass the source file and the target path.")
    converter = CONVERTERS[positional[0]]
    options = {"overwrite": fv.overwrite}
    if fv.key is not None:
        if "key" not in inspect.signature(converter).parameters:
            raise ConfigError(f"--key applies to the esrgan converter only; drop it for {positional[0]}.")
        options["key"] = fv.key
    if fv.layout is not None:
        if "layout" not in inspect.signature(converter).parameters:
            raise ConfigError(f"--layout applies to the esrgan_export converter only; drop it for {positional[0]}.")
        options["layout"] = fv.layout
    print(converter(fv.input, fv.output, **options))


if __name__ == "__main__":
    run_cli(main)
