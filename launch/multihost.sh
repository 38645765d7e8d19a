#!/usr/bin/env bash
# Train with several processes that find each other through a coordinator (jax.distributed):
# GPU nodes of a cluster without SLURM, or several processes on one machine. Start the same
# command once per process, PROCESS_ID = 0 .. NUM_PROCESSES-1; process 0 hosts the coordinator.
# (tests/test_multiprocess.py starts its two processes with this script.)
#
#   launch/multihost.sh HOST0:PORT NUM_PROCESSES PROCESS_ID configs/srgan.py runs/srgan [--config.x=y ...]
#
# Every process reads its own share of each batch; the run directory must be the same
# shared folder for all of them (only process 0 writes logs and samples; orbax writes
# each checkpoint once). Cloud TPU VMs need no addresses: see launch/tpu_vm.sh.
set -euo pipefail
coordinator="$1"; processes="$2"; process_id="$3"; config="$4"; workdir="$5"; shift 5
exec python -m jaxrestore.main --multihost --coordinator_address="$coordinator" \
  --num_processes="$processes" --process_id="$process_id" --config="$config" --workdir="$workdir" "$@"
