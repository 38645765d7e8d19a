"""``python -m jaxrestore.benchmark --solver=baselines`` at tiny sizes: the returned figures
have their structure, are positive and finite, DIP's extrapolation is its seconds per step
times the official 2000 steps, and the command prints its table. No timing assertions."""

import math
import os
import subprocess
import sys

import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.benchmarks.baselines import HEADER, benchmark_baselines, print_baselines_benchmark


def test_every_baseline_is_timed_and_dip_is_extrapolated_to_2000_steps(capsys):
    r = benchmark_baselines(images=2, size=32, task="sr", dip_size=64, dip_iterations=2, dip_channels=8)
    assert r["images"] == 2 and r["task"] == "sr" and "bicubic" in r["task_text"]
    assert [row["baseline"] for row in r["rows"]] == ["tv", "lr", "sparse", "dip"]
    for row in r["rows"]:
        for what in ("compile_s", "s_per_image"):
            assert math.isfinite(row[what]) and row[what] > 0, (row["baseline"], what)
    for row in r["rows"][:3]:
        assert row["size"] == 32 and row["images"] == 2 and row["settings"] == "sr"
        assert row["s_per_step"] is None and row["s_per_image_extrapolated"] is None
        assert math.isfinite(row["psnr"])
    dip = r["rows"][3]
    assert dip["size"] == 64 and dip["channels"] == 8 and dip["iterations"] == 2
    assert dip["official_iterations"] == 2000
    assert math.isfinite(dip["s_per_step"]) and dip["s_per_step"] > 0
    assert dip["s_per_step"] == pytest.approx(dip["s_per_image"] / 2)
    assert dip["s_per_image_extrapolated"] == pytest.approx(dip["s_per_step"] * 2000)
    assert math.isfinite(dip["final_loss"])
    print_baselines_benchmark(r)
    out = capsys.readouterr().out
    assert HEADER in out and "2000 steps" in out and "~100 s per 128x128 image" in out


def test_bad_requests_are_refused_before_anything_runs():
    with pytest.raises(ConfigError, match="unknown baseline task"):
        benchmark_baselines(task="deblur")
    with pytest.raises(ConfigError, match="unknown baseline"):
        benchmark_baselines(baselines=("tv", "bm3d"))
    with pytest.raises(ConfigError, match="at least 1"):
        benchmark_baselines(images=0)


def test_the_command_prints_the_table():
    # TV and LR only: the function test above covers DIP and Sparse (the CLI's DIP compile alone takes ~30 s).
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "jaxrestore.benchmark", "--solver=baselines", "--images=1",
                           "--baselines=tv,lr", "--baseline_task=inpaint", "--dip_size=64", "--dip_iterations=1",
                           "--dip_channels=8"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert HEADER in proc.stdout
    assert "TV " in proc.stdout and "LR " in proc.stdout and "inpaint" in proc.stdout
