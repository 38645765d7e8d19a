#!/usr/bin/env bash
# Train on a Cloud TPU VM slice: the same command on every host (multi-host JAX).
#
#   launch/tpu_vm.sh TPU_NAME ZONE configs/srgan.py /mnt/BUCKET/runs/srgan [--config.x=y ...]
#
# Assumes the repository is cloned to ~/jaxrestore on every host and the datasets
# are prepared under $TFDS_DATA_DIR (see README "Bringing real data"). The workdir
# must be one directory that every host sees, e.g. a bucket mounted on each host
# with `gcsfuse BUCKET /mnt/BUCKET`; a gs:// URL is refused (runs are written with
# local file operations).
set -euo pipefail
tpu="$1"; zone="$2"; config="$3"; workdir="$4"; shift 4
gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "
  cd ~/jaxrestore &&
  pip install -q -e . 'jax[tpu]' &&
  python -m jaxrestore.main --multihost --config=$config --workdir=$workdir $*"
