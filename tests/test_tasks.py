"""The task registry: one object per task, chosen by config.task.name."""

import pytest

from conftest import tiny_config
from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.protocols import protocol
from jaxrestore.train import check_config
from jaxrestore.training.tasks import TASKS, build_task, example_shapes


def test_shapes_baselines_and_options_of_each_task():
    sr = build_task(tiny_config("srgan").task)
    assert sr.options == {"scale": 4} and sr.example_shapes(16) == {"degraded": (4, 4, 3), "target": (16, 16, 3)}
    assert sr.baseline()[1:] == ("bicubic", "eval/lr_bicubic_output_hr")
    jpeg = build_task(tiny_config("argan").task)
    assert jpeg.options == {"quality": tiny_config("argan").task.quality}
    assert jpeg.example_shapes(16) == {"degraded": (16, 16, 1), "target": (16, 16, 1)}  # the luma
    assert jpeg.baseline()[1] == "jpeg"
    assert example_shapes(tiny_config("srgan")) == sr.example_shapes(16)


def test_unknown_task_names_every_task_and_task_checks_run_from_check_config():
    config = tiny_config("srgan")
    config.task.name = "denoise"
    with pytest.raises(ConfigError, match="unknown task 'denoise'.*'sr' .*'jpeg' .*'generate'"):
        check_config(config)
    assert set(TASKS) == {"sr", "jpeg", "generate"}
    config = tiny_config("srgan", **{"data.patch_size": 18})
    with pytest.raises(ConfigError, match="not divisible by task.scale=4"):
        check_config(config)
    config = tiny_config("argan", **{"data.patch_size": 17})
    with pytest.raises(ConfigError, match="must be even"):
        check_config(config)


def test_evaluation_protocols_come_from_the_protocol_registry_and_the_tasks_name_theirs():
    assert protocol("sr").option == "scale" and protocol("jpeg").option == "quality"
    assert set(protocol("sr").cli_baselines()) == {"bicubic", "bicubic_rgb"}
    with pytest.raises(ConfigError, match=r"'generate' .*sr \(super-resolution\); jpeg \(JPEG artifact removal\)"):
        protocol("generate")  # a prior has no PSNR/SSIM protocol
    assert build_task(tiny_config("srgan").task).protocol is protocol("sr")
    assert build_task(tiny_config("argan").task).protocol is protocol("jpeg")
