#!/usr/bin/env bash
# Create a TPU VM and copy the repository to every host.
#
#   launch/tpu_vm_setup.sh TPU_NAME ZONE ACCELERATOR_TYPE   (e.g. v4-8, v5litepod-8)
set -euo pipefail
tpu="$1"; zone="$2"; type="$3"
gcloud compute tpus tpu-vm create "$tpu" --zone "$zone" --accelerator-type "$type" \
  --version tpu-ubuntu2204-base
gcloud compute tpus tpu-vm scp --recurse "$(git rev-parse --show-toplevel)" "$tpu":~/jaxrestore \
  --zone "$zone" --worker=all
