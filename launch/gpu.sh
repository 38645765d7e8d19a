#!/usr/bin/env bash
# Train on one GPU machine (CUDA 12 wheels of JAX).
#
#   launch/gpu.sh configs/srgan.py runs/srgan [--config.x=y ...]
set -euo pipefail
config="$1"; workdir="$2"; shift 2
pip install -q -e . 'jax[cuda12]'
python -m jaxrestore.main --config="$config" --workdir="$workdir" "$@"
