#!/usr/bin/env bash
# The classical and untrained baselines on the held-out CelebA64 faces of the GAN-prior
# sections (issue 12): 002_*'s five tasks with naive/TV/LR/Sparse on CelebA64[18000:18200]
# (the faces of the README's Ours rows), and 003_*'s SR x4 and Fourier CS 0.3/0.5 (noise
# 10) with naive/TV on CelebA64[18000:18020] and DIP on CelebA64[DIP_FACES] (the README's
# DIP rows: 18000:18005 and 18005:18010, two calls, combined by the mean of their MSEs).
#   bash launch/baselines_celeba64.sh [OUT=runs/baselines64] [WHICH=002,003] [DIP_FACES=18000:18005]
set -euo pipefail
out=${1:-runs/baselines64}
which=${2:-002,003}
dip_faces=${3:-18000:18005}
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
  # naive and TV on the 20 faces of the README's CSGM/IAGAN rows; DIP (minutes per face on a
  # CPU) on DIP_FACES of them, with naive again on those faces
  faces="folder:../shared/data/CelebA64[18000:18020]"
  dip_spec="folder:../shared/data/CelebA64[$dip_faces]"
  for spec in "sr4 task=sr,scale=4" "fourier03 task=cs_fourier,ratio=0.3,noise=10" \
              "fourier05 task=cs_fourier,ratio=0.5,noise=10"; do
    read -r name task <<< "$spec"
    run "003_${name}" "--config=configs/iagan.py:$task" --config.methods=naive,tv "--config.data.test=$faces"
    run "003_${name}_dip_${dip_faces/:/_}" "--config=configs/iagan.py:$task" --config.methods=naive,dip \
        "--config.data.test=$dip_spec"
  done
fi
