"""Image files in and out: the documented conversion rule, folder listing, errors, atomic writes."""

import logging

import numpy as np
import pytest
from PIL import Image

from jaxrestore.errors import DataError
from jaxrestore.imaging.io import list_images, read_image, write_image


def test_conversion_rule(tmp_path):
    rng = np.random.default_rng(0)
    grey16 = rng.integers(0, 65536, (5, 7), dtype=np.uint16)
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    native = read_image(tmp_path / "g16.png", mode="native")
    assert native.shape == (5, 7, 1)
    np.testing.assert_array_equal(native[..., 0], np.round(grey16 / 257.0).astype(np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "g16.png"), np.repeat(native, 3, axis=-1))

    rgba = rng.integers(0, 256, (4, 6, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgba[..., :3])  # alpha dropped

    grey = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    Image.fromarray(grey).convert("P").save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), np.stack([grey] * 3, -1))
    Image.fromarray(grey, "L").save(tmp_path / "l.bmp")
    assert read_image(tmp_path / "l.bmp", mode="native").shape == (4, 6, 1)


def test_folder_listing_skips_non_images_with_a_counted_warning(tmp_path, caplog):
    write_image(tmp_path / "b.png", np.zeros((2, 2, 3), np.uint8))
    write_image(tmp_path / "a.JPG", np.zeros((2, 2, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    with caplog.at_level(logging.WARNING):
        names = [p.name for p in list_images(tmp_path)]
    assert names == ["a.JPG", "b.png"]
    assert any("skipped 2 file(s)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("make,words", [
    (lambda d: d / "missing", "does not exist"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "holds no images"),
    (lambda d: (d / "f.png").write_bytes(b"x") and d / "f.png", "is not a folder"),
])
def test_folder_errors(tmp_path, make, words):
    with pytest.raises(DataError, match=words):
        list_images(make(tmp_path))


def test_undecodable_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot decode image .*broken.png"):
        read_image(tmp_path / "broken.png")


def test_write_is_atomic_and_rounds(tmp_path):
    target = tmp_path / "out.png"
    write_image(target, np.full((3, 3, 3), 0.5))
    assert read_image(target)[0, 0].tolist() == [128, 128, 128]
    with pytest.raises(Exception):
        write_image(target, np.zeros((3, 3, 7), np.uint8))  # Pillow cannot write 7 channels
    assert read_image(target)[0, 0].tolist() == [128, 128, 128]  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left
