#!/usr/bin/env bash
# The classical and untrained baselines on the held-out CelebA64 faces of the GAN-prior
# sections (issue 12): 002_*'s five tasks with naive/TV/LR/Sparse on CelebA64[18000:18200]
# (the faces of the README's Ours rows), and 003_*'s SR x4 and Fourier CS 0.3/0.5 (noise
# 10) with naive/TV/DIP on CelebA64[18000:DIP_END] (DIP is slow on a CPU: pass fewer faces).
#   bash launch/baselines_celeba64.sh [OUT=runs/baselines64] [WHICH=002,003] [DIP_END=18020]
set -euo pipefail
out=${1:-runs/baselines64}
which=${2:-002,003}
dip_end=${3:-18020}
mkdir -p "$out"
run() {  # NAME ARGS...: one command, skipped when its results.json exists
  local name=$1
  shift
  [[ -f "$out/$name/results.json" ]] && { echo "== $name: done before"; return 0; }
  echo "== $name"
  python -m jaxrestore.main "$@" --workdir="$out/$name" 2>>"$out/log.txt" | tail -n 1
}
if [[ ",$which," == *",002,"* ]]; then
  for task in inpaint colorize sr denoise quantize; do
    run "002_$task" --config=configs/gan_prior.py:task=$task --config.methods=naive,tv,lr,sparse \
        "--config.data.test=folder:../shared/data/CelebA64[18000:18200]" --config.solver.chunk=50
  done
fi
if [[ ",$which," == *",003,"* ]]; then
  faces="folder:../shared/data/CelebA64[18000:$dip_end]"
  run 003_sr4 --config=configs/iagan.py:task=sr,scale=4 --config.methods=naive,tv,dip "--config.data.test=$faces"
  run 003_fourier03 --config=configs/iagan.py:task=cs_fourier,ratio=0.3,noise=10 --config.methods=naive,tv,dip \
      "--config.data.test=$faces"
  run 003_fourier05 --config=configs/iagan.py:task=cs_fourier,ratio=0.5,noise=10 --config.methods=naive,tv,dip \
      "--config.data.test=$faces"
fi
