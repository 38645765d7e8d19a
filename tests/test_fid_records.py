"""FID over training: the ``fid.jsonl`` records a run writes (:mod:`jaxrestore.metrics.fid`) and
``python -m jaxrestore.plot fid``, which draws them (:mod:`jaxrestore.evaluation.curves`)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.metrics.fid import FID_RECORDS, append_fid_record, read_fid_records


def test_fid_records_keep_the_last_of_a_repeated_step(tmp_path):
    append_fid_record(tmp_path, step=200, epoch=2.0, fid=50.5)
    append_fid_record(tmp_path, step=100, epoch=1.0, fid=80.0)
    append_fid_record(tmp_path, step=200, epoch=2.0, fid=48.25)  # a resumed run re-evaluates step 200
    append_fid_record(tmp_path, step=np.int64(300), epoch=np.float32(3.5), fid=np.float64(40.0))
    assert read_fid_records(tmp_path) == [
        {"step": 100, "epoch": 1.0, "fid": 80.0},
        {"step": 200, "epoch": 2.0, "fid": 48.25},
        {"step": 300, "epoch": 3.5, "fid": 40.0},
    ]
    lines = (tmp_path / FID_RECORDS).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0]) == {"step": 200, "epoch": 2.0, "fid": 50.5}
    assert os.listdir(tmp_path) == [FID_RECORDS]  # no temporary file left behind


def test_fid_records_errors(tmp_path):
    with pytest.raises(DataError, match=r"no fid.jsonl in .*fid_every_steps > 0"):
        read_fid_records(tmp_path)
    append_fid_record(tmp_path, step=1, epoch=0.5, fid=3.0)
    with open(tmp_path / FID_RECORDS, "a") as f:
        f.write('{"step": 2, "epoch": 1.0}\n')
    with pytest.raises(DataError) as err:
        read_fid_records(tmp_path)
    assert f"{tmp_path / FID_RECORDS} line 2" in str(err.value)


def write_run(folder, fids):
    folder.mkdir()
    for i, fid in enumerate(fids, start=1):
        append_fid_record(folder, step=100 * i, epoch=0.5 * i, fid=fid)
    return folder


def test_plot_cli_writes_png(tmp_path, capsys):
    from jaxrestore.plot import main

    a = write_run(tmp_path / "argan_vgg", [90.0, 70.0, 65.0])
    b = write_run(tmp_path / "cargan", [85.0, 60.0])
    out = tmp_path / "fig4.png"
    main(["plot", "fid", f"--run=ARGAN-VGG={a}", f"--run=cARGAN={b}", f"--output={out}",
          "--title=FID", "--width=640", "--height=360"])
    assert "wrote" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (640, 360)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # something was drawn
    main(["plot", "fid", f"--run=ARGAN-VGG={a}", f"--output={out}", "--x=step", "--overwrite"])
    with Image.open(out) as image:
        assert image.size == (800, 500)


@pytest.mark.parametrize("args,message", [
    (["fid", "--run=runs/cargan", "--output={out}"], "is not NAME=DIR"),
    (["fid", "--run=c={tmp}/missing", "--output={out}"], "does not exist"),
    (["fid", "--run=c={run}", "--output={tmp}/fig.jpg"], "must end in .png"),
    (["fid", "--run=c={run}", "--output={tmp}/existing.png"], "--overwrite"),
    (["fid", "--run=c={run}"], "--output is required"),
    (["fid", "--output={out}"], "at least one run"),
    (["fid", "--run=c={run}", "--run=c={run}", "--output={out}"], "Two runs are named 'c'"),
    (["fid", "--run=c={run}", "--output={out}", "--x=time"], "--help"),
    (["loss", "--run=c={run}", "--output={out}"], "one of: fid"),
])
def test_plot_cli_errors(tmp_path, args, message):
    from jaxrestore.plot import main

    run = write_run(tmp_path / "run", [1.0])
    (tmp_path / "existing.png").write_bytes(b"old")
    fill = dict(tmp=tmp_path, run=run, out=tmp_path / "out.png")
    with pytest.raises(ConfigError) as err:
        main(["plot", *[a.format(**fill) for a in args]])
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out.png").exists()


def test_plot_of_a_run_without_fid_records(tmp_path):
    from jaxrestore.plot import main

    (tmp_path / "run").mkdir()
    with pytest.raises(DataError, match="no fid.jsonl"):
        main(["plot", "fid", f"--run=c={tmp_path / 'run'}", f"--output={tmp_path / 'out.png'}"])
    assert not (tmp_path / "out.png").exists()
