"""Measures a config's training step: compile time, steps/s, images/s, memory.

    python -m jaxrestore.benchmark --config=configs/srgan.py [--steps=20] [--config.train.batch_size=32]
    python -m jaxrestore.benchmark --solver=map [--images=64 --iterations=100]
    python -m jaxrestore.benchmark --solver=iagan [--images=2 --csgm_iterations=4 --iagan_iterations=2]
    python -m jaxrestore.benchmark --solver=cg [--cg_sizes=32]
    python -m jaxrestore.benchmark --compare=torch [--compare_steps=srresnet,esrgan --compare_batch=4 --steps=5]
    python -m jaxrestore.benchmark --solver=baselines [--images=4 --baseline_task=sr --dip_size=128 --dip_iterations=5]
    python -m jaxrestore.benchmark --solver=csgm,iagan,map,dip --compare=torch [--images=4 --iteration_scale=1
                                   --prior=dcgan32|dcgan]

With ``--solver=map`` it times 002_*'s MAP latent search instead, batched against the
released code's per-image loop (see :mod:`jaxrestore.benchmarks.map`);
``--solver=iagan`` times 003_*'s CSGM and IAGAN the same two ways, and ``--solver=cg``
counts conjugate-gradient iterations of the Gaussian pseudo-inverse as m/n -> 1 (see
:mod:`jaxrestore.benchmarks.latent`); ``--solver=baselines`` prints seconds per image
of TV, LR and Sparse at 64x64 and of DIP at 128x128 (extrapolated to its 2000 steps; see
:mod:`jaxrestore.benchmarks.baselines`). ``--solver=csgm,iagan,map,dip --compare=torch``
restores held-out real faces with the real 32x32 CelebA DCGAN of ``../shared/weights`` three
ways in one run (the public solvers batched, the same compiled per image, and the official
codes' per-image PyTorch loops) and prints seconds per image, compile time and ratios (see
:mod:`jaxrestore.benchmarks.inverse_compare`).

The training step's figures: :mod:`jaxrestore.benchmarks.training`.
"""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

from jaxrestore.benchmarks import baselines, latent, training
from jaxrestore.benchmarks import map as map_benchmark
from jaxrestore.errors import ConfigError
from jaxrestore.runtime.cli import reject_arguments, run_app, run_cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defined only when run as a command (``--config`` is also jaxrestore.main's flag)."""
    config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. configs/srgan.py.")
    flags.DEFINE_integer("steps", 20, "Timed steps (after one warm-up step).")
    flags.DEFINE_bool("pretrain", False, "Benchmark the fidelity-only pre-training step instead.")
    flags.DEFINE_list("solver", None, "Benchmark a solver instead of a config's training step (map: 002_*'s MAP "
                      "inpainting with a DCGAN prior; iagan: 003_*'s CSGM and IAGAN with a BEGAN-layout prior; cg: CG "
                      "on a Gaussian A A^T as m/n -> 1; baselines: seconds per image of TV, LR, Sparse and DIP); with "
                      "--compare=torch, some of csgm,iagan,map,dip against the official codes' PyTorch loops.")
    flags.DEFINE_enum("prior", "dcgan32", ["dcgan32", "dcgan"], "--solver=...--compare=torch: the real 32x32 "
                      "CelebA DCGAN of ../shared/weights (dcgan32), or the project's 64x64 DCGAN at width "
                      "--features (default 16), randomly initialised (dcgan).")
    flags.DEFINE_float("iteration_scale", 1.0, "--solver=...--compare=torch: multiplies the papers' iteration "
                       "counts (CSGM 5 x 1600, IAGAN 500, MAP 3000, DIP 2000), e.g. 0.01 for a quick check.")
    flags.DEFINE_integer("images", None, "--solver: images solved together (default: map 64, iagan 2, baselines 4, "
                         "--compare=torch 4).")
    flags.DEFINE_integer("iterations", 100, "--solver=map: iterations per image.")
    flags.DEFINE_integer("features", None, "--solver: generator width (default: map 64 = the released DCGAN, "
                         "iagan 128 = BEGAN's n).")
    flags.DEFINE_integer("loop_images", None, "--solver: images for the per-image loop (default: all; with "
                         "--compare=torch also PyTorch's and DIP's).")
    flags.DEFINE_integer("csgm_iterations", 4, "--solver=iagan: CSGM iterations (the paper: 1600).")
    flags.DEFINE_integer("iagan_iterations", 2, "--solver=iagan: IAGAN iterations (the paper: 600).")
    flags.DEFINE_integer("restarts", 5, "--solver=iagan: CSGM random starts (the official code: 5).")
    flags.DEFINE_enum("operator", "fourier", ["fourier", "gaussian"], "--solver=iagan: measurements.")
    flags.DEFINE_float("ratio", 0.5, "--solver=iagan: compression ratio m/n.")
    flags.DEFINE_enum("gaussian_matrix", "auto", ["auto", "dense", "generated"], "--operator=gaussian: store the "
                      "matrix, or regenerate it per application (auto: stored if within a quarter of memory).")
    flags.DEFINE_list("cg_sizes", ["32"], "--solver=cg: image sides s (n = 3 s^2).")
    flags.DEFINE_list("baselines", ["tv", "lr", "sparse", "dip"], "--solver=baselines: the baselines to time.")
    flags.DEFINE_enum("baseline_task", "sr", ["sr", "inpaint", "denoise", "cs_fourier"], "--solver=baselines: "
                      "the task of TV, LR and Sparse at 64x64 (sr: bicubic x4; inpaint: centre 32x32 hole; "
                      "denoise: noise 0.1; cs_fourier: ratio 0.3, noise 10/255), with its tuned settings.")
    flags.DEFINE_integer("dip_size", 128, "--solver=baselines: DIP's image side (x4 SR, the official settings).")
    flags.DEFINE_integer("dip_iterations", 5, "--solver=baselines: DIP steps timed (extrapolated to 2000).")
    flags.DEFINE_enum("compare", None, ["torch"], "Time the training steps of --compare_steps in JAX and in "
                      "plain PyTorch in this process, and RRDBNet x4 inference (jaxrestore/benchmarks/torch_compare.py).")
    flags.DEFINE_list("compare_steps", ["srresnet", "srgan", "csrgan", "rrdbnet", "esrgan", "lsrgan"],
                      "--compare=torch: the steps to time.")
    flags.DEFINE_integer("compare_batch", 4, "--compare=torch: batch size of every step.")
    flags.DEFINE_integer("compare_patch", 0, "--compare=torch: HR patch side (0: each config's own, 96 or 128).")
    flags.DEFINE_bool("compare_layers", True, "--compare=torch: first time single 3x3 convolutions "
                      "(forward, forward+backward) in XLA and PyTorch, the profile behind the step ratios.")
    flags.DEFINE_integer("restore_size", 128, "--compare=torch: side of the image RRDBNet x4 restores "
                         "(0: skip the inference comparison).")
    flags.DEFINE_bool("pipeline", False, "With --config: also time the config's input pipeline (images/s with "
                      "--pipeline_workers worker processes) beside the step's consumption.")
    flags.DEFINE_list("pipeline_workers", ["0", "2"], "--pipeline: data.worker_count values to time.")
    flags.DEFINE_bool("memory", False, "With --config: print XLA's memory for the step without and with "
                      "model.remat (compiles twice, runs nothing).")
    flags.DEFINE_string("startup", None, "A config (e.g. configs/srresnet.py:quick): time two starts of "
                        "`jaxrestore.main` for one step with a fresh compilation cache, cold then warm.")
    flags.DEFINE_enum("compare_dtype", "float32", ["float32", "bfloat16"], "--compare=torch: JAX's "
                      "train.compute_dtype, and torch.autocast to bfloat16 on the PyTorch side.")
    flags.DEFINE_integer("dip_channels", None, "--solver=baselines: DIP's channels per scale (default: the "
                         "official 128; fewer for a quick check).")


# --solver=NAME -> what it prints, from the parsed flags.
SOLVERS = {
    "map": lambda: map_benchmark.print_map_benchmark(map_benchmark.benchmark_map(
        images=FLAGS.images or 64, iterations=FLAGS.iterations, features=FLAGS.features or 64,
        loop_images=FLAGS.loop_images)),
    "iagan": lambda: latent.print_adaptive_benchmark(latent.benchmark_adaptive(
        images=FLAGS.images or 2, csgm_iterations=FLAGS.csgm_iterations, iagan_iterations=FLAGS.iagan_iterations,
        restarts=FLAGS.restarts, features=FLAGS.features or 128, operator=FLAGS.operator, ratio=FLAGS.ratio,
        gaussian_matrix=FLAGS.gaussian_matrix, loop_images=FLAGS.loop_images)),
    "cg": lambda: latent.print_cg_benchmark(latent.benchmark_cg(sizes=FLAGS.cg_sizes)),
    "baselines": lambda: baselines.print_baselines_benchmark(baselines.benchmark_baselines(
        images=FLAGS.images or 4, task=FLAGS.baseline_task, baselines=FLAGS.baselines, dip_size=FLAGS.dip_size,
        dip_iterations=FLAGS.dip_iterations, dip_channels=FLAGS.dip_channels)),
}


def _main(argv) -> None:
    reject_arguments(argv, "jaxrestore.benchmark")
    if FLAGS.startup:
        training.print_startup(training.startup_times(FLAGS.startup))
    elif FLAGS.compare == "torch" and FLAGS.solver:
        # local: the PyTorch side imports torch (a test/dev extra), which no other benchmark needs
        from jaxrestore.benchmarks import inverse_compare

        inverse_compare.print_comparison(inverse_compare.compare(FLAGS.solver, images=FLAGS.images or 4,
                                                                 loop_images=FLAGS.loop_images,
                                                                 iteration_scale=FLAGS.iteration_scale,
                                                                 prior=FLAGS.prior, features=FLAGS.features or 16))
    elif FLAGS.compare == "torch":
        # local: the PyTorch side imports torch (a test/dev extra), which no other benchmark needs
        from jaxrestore.benchmarks import torch_compare

        torch_compare.run_comparison(steps=FLAGS.compare_steps, batch_size=FLAGS.compare_batch,
                                     patch=FLAGS.compare_patch or None, repeats=FLAGS.steps, dtype=FLAGS.compare_dtype,
                                     layers=FLAGS.compare_layers, restore_size=FLAGS.restore_size)
    elif FLAGS.solver:
        if len(FLAGS.solver) != 1 or FLAGS.solver[0] not in SOLVERS:
            raise ConfigError(f"--solver={','.join(FLAGS.solver)}: without --compare=torch give one of "
                              f"{', '.join(SOLVERS)}; with --compare=torch any of csgm,iagan,map,dip.")
        SOLVERS[FLAGS.solver[0]]()
    elif FLAGS.config is None:
        raise ConfigError("benchmark needs --config=configs/<name>.py (a training step) or "
                          "--solver=map|iagan|cg|baselines.")
    else:
        training.benchmark_config(FLAGS.config, steps=FLAGS.steps, pretrain=FLAGS.pretrain, memory=FLAGS.memory,
                                  pipeline=FLAGS.pipeline, pipeline_workers=FLAGS.pipeline_workers)


def main() -> None:
    define_flags()
    run_app(lambda argv: run_cli(lambda: _main(argv)))


if __name__ == "__main__":
    main()
