"""Procedural images, image-folder and procedural sources, and source-spec parsing."""

import numpy as np
import pytest
from PIL import Image

from jaxrestore.data.procedural import dead_leaves
from jaxrestore.data.sources import (
    ImageFolderSource,
    ProceduralSource,
    parse_sources,
)
from jaxrestore.errors import ConfigError, DataError


def test_dead_leaves_is_deterministic_uint8_and_varied():
    a = dead_leaves(7, (128, 96))
    assert a.dtype == np.uint8 and a.shape == (128, 96, 3)
    np.testing.assert_array_equal(a, dead_leaves(7, (128, 96)))
    b = dead_leaves(8, (128, 96))
    assert np.mean(a != b) > 0.5  # another seed is another image
    # Something to restore: many colours, edges and smooth parts, full range used.
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 500
    assert a.std() > 30
    grad = np.abs(np.diff(a.astype(np.int32), axis=1)).max(axis=-1)
    assert 0.02 < np.mean(grad > 40) < 0.5  # edges exist, but most pixels are not edges
    assert np.mean(grad <= 2) > 0.3  # flat and smooth areas


def test_dead_leaves_sizes_and_seed_values():
    assert dead_leaves(0, (1, 1)).shape == (1, 1, 3)
    assert dead_leaves(2**63, (5, 17)).shape == (5, 17, 3)
    with pytest.raises(ValueError):
        dead_leaves(0, (0, 4))


def test_procedural_source_sets_are_deterministic_and_disjoint():
    src = ProceduralSource(4, (40, 30), seed=0)
    assert len(src) == 4 and src[3].shape == (40, 30, 3)
    np.testing.assert_array_equal(src[2], ProceduralSource(4, (40, 30), seed=0)[2])
    np.testing.assert_array_equal(src[2], dead_leaves(src.image_seed(2), (40, 30)))
    other = ProceduralSource(4, (40, 30), seed=1)
    seeds = {src.image_seed(i) for i in range(4)} | {other.image_seed(i) for i in range(4)}
    assert len(seeds) == 8
    with pytest.raises(IndexError):
        src[4]
    assert src.name(1) == "deadleaves_s0_00001"


def _write(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)


def test_image_folder_converts_grey_rgba_16bit_to_rgb(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 8, 4), dtype=np.uint8)
    grey16 = np.array([[0, 257, 65535], [1000, 30000, 128]], dtype=np.uint16)
    _write(tmp_path / "a_rgb.png", rgb)
    _write(tmp_path / "b_grey.png", grey)
    _write(tmp_path / "c_rgba.png", rgba)
    Image.fromarray(grey16).save(tmp_path / "d_grey16.png")
    (tmp_path / "notes.txt").write_text("not an image")
    src = ImageFolderSource(tmp_path)
    assert len(src) == 4
    np.testing.assert_array_equal(src[0], rgb)
    np.testing.assert_array_equal(src[1], np.repeat(grey[..., None], 3, -1))
    np.testing.assert_array_equal(src[2], rgba[..., :3])
    expected16 = np.round(grey16 / 257.0).astype(np.uint8)  # io's documented rule
    assert src[3].dtype == np.uint8 and src[3].shape == (2, 3, 3)
    np.testing.assert_array_equal(src[3], np.repeat(expected16[..., None], 3, -1))
    assert "d_grey16.png" in src.describe(3) and src.name(0) == "a_rgb"


def test_parse_sources_specs(tmp_path):
    _write(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8))
    sources = parse_sources(f"procedural:deadleaves:count=5:size=48x32:seed=3, folder:{tmp_path}")
    assert isinstance(sources[0], ProceduralSource) and isinstance(sources[1], ImageFolderSource)
    assert (len(sources[0]), sources[0].size, sources[0].seed) == (5, (48, 32), 3)
    assert len(sources[1]) == 1
    default = parse_sources("procedural:deadleaves")[0]
    assert (len(default), default.size, default.seed) == (10000, (128, 128), 0)
    assert parse_sources("procedural:deadleaves:size=64")[0].size == (64, 64)


@pytest.mark.parametrize("spec, words", [
    ("imagefolder:/data", ["folder:", "tfds:", "procedural:"]),
    ("deadleaves", ["folder:", "tfds:", "procedural:"]),
    ("", ["data.train"]),
    ("procedural:clouds", ["deadleaves"]),
    ("procedural:deadleaves:count=ten", ["integers"]),
    ("procedural:deadleaves:colour=3", ["count=N"]),
    ("procedural:deadleaves:count=0", ["count"]),
    ("folder:", ["folder:/path"]),
])
def test_bad_specs_raise_config_error(spec, words):
    with pytest.raises(ConfigError) as err:
        parse_sources(spec)
    for word in words:
        assert word in str(err.value)


def test_missing_or_empty_folder_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        parse_sources(f"folder:{tmp_path / 'nope'}")
    with pytest.raises(DataError, match="holds no images"):
        ImageFolderSource(tmp_path)


def test_folder_slices_split_the_sorted_images(tmp_path):
    from jaxrestore.data.sources import parse_source
    from jaxrestore.imaging.io import write_image

    for i in range(5):
        write_image(tmp_path / f"{i:03d}.png", np.full((4, 4, 3), i * 10, np.uint8))
    train = parse_source(f"folder:{tmp_path}[:3]")
    held_out = parse_source(f"folder:{tmp_path}[3:]")
    assert [train.name(i) for i in range(len(train))] == ["000", "001", "002"]
    assert [held_out.name(i) for i in range(len(held_out))] == ["003", "004"]
    assert int(held_out[1][0, 0, 0]) == 40 and len(parse_source(f"folder:{tmp_path}[-2:]")) == 2
    with pytest.raises(ConfigError, match="holds no image"):
        parse_source(f"folder:{tmp_path}[5:]")
    with pytest.raises(ConfigError, match="bad image slice"):
        parse_source(f"folder:{tmp_path}[a:b]")
