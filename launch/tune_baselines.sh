#!/usr/bin/env bash
# Chooses the classical baselines' settings (jaxrestore/inverse/experiments/baselines.py, TUNED)
# on CelebA64 validation faces that no table uses: TV on [18800:18850], the slower LR and
# sparse coding on [18800:18820]. Every grid point runs the experiment command itself
# (python -m jaxrestore.tune); tables go to OUT/*.json and the log. A grid
# whose OUT/NAME.json exists is not run again.
#   bash launch/tune_baselines.sh [OUT=runs/tune] [WHICH=tv,lr,sparse]
set -euo pipefail
out=${1:-runs/tune}
which=${2:-tv,lr,sparse}
mkdir -p "$out"
tv_data="folder:../shared/data/CelebA64[18800:18850]"
slow_data="folder:../shared/data/CelebA64[18800:18820]"
tune() {  # NAME CONFIG METHOD DATA GRID...
  local name=$1 config=$2 method=$3 data=$4
  shift 4
  [[ ",$which," == *",$method,"* ]] || return 0
  [[ -f "$out/$name.json" ]] && { echo "== $name: done before ($out/$name.json)"; return 0; }
  local args=() spec
  for spec in "$@"; do args+=("--grid=$spec"); done
  echo "== $name ($method)"
  python -m jaxrestore.tune --config="$config" --method="$method" --data="$data" \
      --output="$out/$name.json" "${args[@]}" 2>>"$out/log.txt" | tail -n +1
}
g=configs/gan_prior.py
i=configs/iagan.py
# total variation: lambda on the [0, 1] scale (a second grid where the best was at an edge)
tune 002_inpaint_tv "$g:task=inpaint" tv "$tv_data" baselines.tv.weight=0.0003,0.001,0.003,0.01,0.03
tune 002_colorize_tv "$g:task=colorize" tv "$tv_data" baselines.tv.weight=0.001,0.01,0.1
tune 002_sr_tv "$g:task=sr" tv "$tv_data" baselines.tv.weight=0.0003,0.001,0.003,0.01,0.03
tune 002_sr_tv_low "$g:task=sr" tv "$tv_data" baselines.tv.weight=0.00003,0.0001
tune 002_denoise_tv "$g:task=denoise" tv "$tv_data" baselines.tv.weight=0.05,0.07,0.1,0.13,0.17
tune 002_quantize_tv "$g:task=quantize" tv "$tv_data" baselines.tv.weight=0.01,0.02,0.04,0.06,0.1
tune 002_quantize_tv_high "$g:task=quantize" tv "$tv_data" baselines.tv.weight=0.15,0.2,0.3
tune 003_cs_fourier_noisy_tv "$i:task=cs_fourier,ratio=0.3,noise=10" tv "$tv_data" baselines.tv.weight=0.005,0.01,0.02,0.04,0.08
tune 003_sr_clean_tv "$i:task=sr,scale=4" tv "$tv_data" baselines.tv.weight=0.0003,0.001,0.003,0.01,0.03
tune 003_sr_clean_tv_low "$i:task=sr,scale=4" tv "$tv_data" baselines.tv.weight=0.00003,0.0001
tune 003_sr_noisy_tv "$i:task=sr,scale=4,noise=10" tv "$tv_data" baselines.tv.weight=0.005,0.01,0.02,0.04,0.08
tune 003_sr_noisy_tv_low "$i:task=sr,scale=4,noise=10" tv "$tv_data" baselines.tv.weight=0.001,0.002,0.003
tune 003_deblur_noisy_tv "$i:task=deblur,noise=10" tv "$tv_data" baselines.tv.weight=0.005,0.01,0.02,0.04,0.08
tune 003_deblur_noisy_tv_low "$i:task=deblur,noise=10" tv "$tv_data" baselines.tv.weight=0.001,0.002,0.003
tune 003_cs_gaussian_clean_tv "$i:task=cs_gaussian,ratio=0.1" tv "$tv_data" baselines.tv.weight=0.0003,0.001,0.003,0.01,0.03
# WNNM low rank: the noise level of its prior step (a schedule down to sigma_end where the
# observation is noiseless) and the weight constant c
tune 002_denoise_lr "$g:task=denoise" lr "$slow_data" baselines.lr.c=4,8,16
tune 002_quantize_lr "$g:task=quantize" lr "$slow_data" baselines.lr.sigma=0.03,0.06,0.1
tune 002_inpaint_lr "$g:task=inpaint" lr "$slow_data" baselines.lr.sigma=0.03,0.1,0.3
tune 002_inpaint_lr_high "$g:task=inpaint" lr "$slow_data" baselines.lr.sigma=0.6,1.0
tune 002_sr_lr "$g:task=sr" lr "$slow_data" baselines.lr.sigma=0.03,0.1
tune 003_cs_fourier_noisy_lr "$i:task=cs_fourier,ratio=0.3,noise=10" lr "$slow_data" baselines.lr.relaxation=0.1,1
# sparse coding (overcomplete DCT, OMP): the tolerance C sigma for noisy inputs (one round,
# every patch), the sparsity otherwise (patches every 2 pixels)
tune 002_denoise_sparse "$g:task=denoise" sparse "$slow_data" baselines.sparse.outer_iterations=1 baselines.sparse.sparsity=16 baselines.sparse.tolerance=0.08,0.115,0.15
tune 002_quantize_sparse "$g:task=quantize" sparse "$slow_data" baselines.sparse.outer_iterations=1 baselines.sparse.sparsity=16 baselines.sparse.tolerance=0.03,0.05,0.07
tune 002_quantize_sparse_high "$g:task=quantize" sparse "$slow_data" baselines.sparse.outer_iterations=1 baselines.sparse.sparsity=16 baselines.sparse.tolerance=0.09,0.11
tune 002_inpaint_sparse "$g:task=inpaint" sparse "$slow_data" baselines.sparse.stride=2 baselines.sparse.sparsity=4,8,16
tune 002_inpaint_sparse_low "$g:task=inpaint" sparse "$slow_data" baselines.sparse.stride=2 baselines.sparse.sparsity=1,2
tune 002_sr_sparse "$g:task=sr" sparse "$slow_data" baselines.sparse.stride=2 baselines.sparse.sparsity=4,8
tune 003_cs_fourier_noisy_sparse "$i:task=cs_fourier,ratio=0.3,noise=10" sparse "$slow_data" baselines.sparse.stride=2 baselines.sparse.sparsity=16 baselines.sparse.tolerance=0.03,0.05
