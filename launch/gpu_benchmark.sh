#!/usr/bin/env bash
# The speed figures of a GPU (README "Speed and scale"): JAX against PyTorch on the full SRGAN,
# ESRGAN and LSRGAN steps in float32 and bfloat16, batch 16, then step memory with and without
# remat. Needs jax[cuda], torch, flax, optax, orbax-checkpoint, ml-collections and grain (the
# tasks' degradations live in jaxrestore.data, which imports it); clu and tensorflow-datasets are
# not imported on this path. Where grain is missing: pip install grain (or carry its wheel).
#
#   bash launch/gpu_benchmark.sh > gpu_benchmark.txt 2>&1
set -uo pipefail
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
for dtype in float32 bfloat16; do
  python -m jaxrestore.benchmark --compare=torch --compare_steps=srgan,esrgan,lsrgan --compare_batch=16 \
    --compare_dtype="$dtype" --steps=10 --restore_size=512 --compare_layers="$([ "$dtype" = float32 ] && echo true || echo false)"
done
python -m jaxrestore.benchmark --config=configs/lsrgan.py --memory
