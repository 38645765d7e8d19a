#!/usr/bin/env bash
# 003_*'s claims on real faces: CSGM / IAGAN / back-projection with a DCGAN prior trained on
# ../shared/data/CelebA64[:18000], on 20 held-out faces (CelebA64[18000:18020]).
#
#   launch/iagan_celeba64.sh PRIOR_RUN OUT_DIR [--config.x=y ...]
#
# Runs SR x4 (Table 2's setting), Fourier CS 0.3 / 0.5 with noise 10/255 (Table 1's; two CSGM
# starts per image instead of 5, to fit a CPU), and
# a Gaussian CS sweep over six ratios on the first 10 of those faces (Figure 2, one CSGM
# start per image to fit a CPU), then draws Figure 2. Each run's table is
# OUT_DIR/<name>/results.md. About 1 h 30 min on a 2-core CPU. DIP, a default method since the
# baselines joined, is left out here (minutes per face; launch/baselines_celeba64.sh runs it).
set -euo pipefail
prior="$1"; out="$2"; shift 2
test_set="folder:../shared/data/CelebA64[18000:18020]"
run() {
  name="$1"; shift
  python -m jaxrestore.main --config="configs/iagan.py:$1" --config.prior="$prior" \
    --config.data.test="$test_set" --workdir="$out/$name" "${@:2}" 2>&1 | tee "$out/$name.log" | grep -v '^W'
}
mkdir -p "$out"
run sr4 task=sr,scale=4 --config.methods=naive,csgm,csgm_bp,iagan,iagan_bp "$@"
run fourier03 task=cs_fourier,ratio=0.3,noise=10 --config.methods=naive,csgm,iagan --config.csgm.restarts=2 --config.chunk=10 "$@"
run fourier05 task=cs_fourier,ratio=0.5,noise=10 --config.methods=naive,csgm,iagan --config.csgm.restarts=2 --config.chunk=10 "$@"
test_set="folder:../shared/data/CelebA64[18000:18010]"
run gaussian_sweep10 task=cs_gaussian,ratios=0.05,0.1,0.2,0.4,0.7,0.9 --config.methods=naive,csgm,csgm_bp,iagan,iagan_bp --config.csgm.restarts=1 --config.chunk=10 "$@"
python -m jaxrestore.plot cs_curve --run=DCGAN="$out/gaussian_sweep10" --output="$out/figure2.png" --overwrite
