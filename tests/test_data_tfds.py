"""TfdsSource through the real TFDS loading code, on datasets the test builds."""

import numpy as np
import pytest

import tensorflow_datasets as tfds  # noqa: E402

from jaxrestore.data.pipeline import make_train_dataset  # noqa: E402
from jaxrestore.data.sources import TfdsSource, parse_sources  # noqa: E402
from jaxrestore.errors import DataError  # noqa: E402


def _images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (20 + 3 * i, 24 + i, 3), dtype=np.uint8) for i in range(5)]


class JaxrestoreTestTinyImages(tfds.core.GeneratorBasedBuilder):
    """Five random PNG images in one 'train' split."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(num_classes=2)}))

    def _split_generators(self, dl_manager):
        del dl_manager
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i, image in enumerate(_images()):
            yield i, {"image": image, "label": i % 2}


NAME = "jaxrestore_test_tiny_images"


@pytest.fixture(scope="module")
def array_record_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_ar")
    JaxrestoreTestTinyImages(data_dir=data_dir, file_format="array_record").download_and_prepare()
    return str(data_dir)


def test_reads_array_record_dataset_through_tfds_data_source(array_record_dir):
    source = TfdsSource(NAME, "train", array_record_dir)
    assert len(source) == 5
    got = sorted((source[i] for i in range(5)), key=lambda a: a.shape)
    for a, b in zip(got, _images()):  # PNG is lossless: exact pixels
        np.testing.assert_array_equal(a, b)
    assert "record 3" in source.describe(3)
    # spec parsing, with a split slice containing a colon
    (sliced,) = parse_sources(f"tfds:{NAME}:1.0.0:train[:3]", tfds_data_dir=array_record_dir)
    assert len(sliced) == 3


def test_pipeline_over_tfds_and_small_image_error(array_record_dir):
    cfg = {"train": f"tfds:{NAME}:train", "tfds_data_dir": array_record_dir, "patch_size": 16,
           "num_threads": 1}
    batch = next(iter(make_train_dataset(cfg, task="sr", scale=4, batch_size=5, seed=0)))
    assert batch["target"].shape == (5, 16, 16, 3) and batch["degraded"].shape == (5, 4, 4, 3)
    cfg["patch_size"] = 24  # image 0 is 20x24
    with pytest.raises(DataError, match=r"record \d+ of TFDS .*is 20x24, smaller.*data.patch_size"):
        for _ in iter(make_train_dataset(cfg, task="sr", scale=4, batch_size=5, seed=0)):
            pass


def test_tfrecord_only_dataset_says_array_record_is_needed(tmp_path):
    JaxrestoreTestTinyImages(data_dir=tmp_path, file_format="tfrecord").download_and_prepare()
    with pytest.raises(DataError) as err:
        TfdsSource(NAME, "train", str(tmp_path))
    msg = str(err.value)
    assert "only as tfrecord" in msg and "--file_format=array_record" in msg
    assert "tfds convert_format" in msg


def test_unknown_split(array_record_dir):
    with pytest.raises(DataError, match="no split 'test'.*train"):
        TfdsSource(NAME, "test", array_record_dir)


def test_unprepared_datasets_say_how_to_prepare(tmp_path):
    with pytest.raises(DataError) as err:
        TfdsSource("coco/2017", "train", str(tmp_path))
    msg = str(err.value)
    assert "'coco/2017' is not prepared" in msg
    assert f"tfds build coco/2017 --file_format=array_record --data_dir={tmp_path}" in msg
    with pytest.raises(DataError) as err:
        parse_sources("tfds:imagenet2012:train", tfds_data_dir=str(tmp_path))
    msg = str(err.value)
    assert f"{tmp_path}/downloads/manual/" in msg and "ILSVRC2012_img_train.tar" in msg
    assert "tfds build imagenet2012 --file_format=array_record" in msg
    with pytest.raises(DataError, match="no dataset named 'not_a_dataset_xyz'"):
        TfdsSource("not_a_dataset_xyz", "train", str(tmp_path))


def test_mock_data_coco_through_data_source():
    with tfds.testing.mock_data(num_examples=3):
        source = TfdsSource("coco/2017", "train")
        assert len(source) == 3
        image = source[1]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3


def test_mock_data_div2k_reads_the_hr_images():
    with tfds.testing.mock_data(num_examples=2):
        source = TfdsSource("div2k/bicubic_x4", "train")
        image = source[0]
        hr_shape = source._source[0]["hr"].shape
    assert image.shape == hr_shape and image.dtype == np.uint8


def test_celeb_a_through_tfds_with_the_dcgan_centre_crop_and_resize():
    """configs/dcgan.py:celeba: CelebA's 218x178 aligned images (mocked by TFDS), the central
    108x108 square (rows 55-162, columns 35-142) resized to 64x64 by Pillow's bilinear filter."""
    import sys
    from pathlib import Path

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from configs import dcgan

    config = dcgan.get_config("celeba")
    assert (config.data.train, config.data.center_crop, config.data.resize) == ("tfds:celeb_a:train", 108, 64)
    config.data.num_threads, config.data.prefetch_buffer, config.data.augment = 1, 1, False
    with tfds.testing.mock_data(num_examples=2):
        raw = TfdsSource("celeb_a", "train")
        originals = [raw[i] for i in range(2)]
        batch = next(iter(make_train_dataset(config.data, task="generate", batch_size=2, seed=0,
                                             augmentation="hflip")))
    assert originals[0].shape == (218, 178, 3)
    expected = [np.asarray(Image.fromarray(o[55:163, 35:143]).resize((64, 64), Image.BILINEAR)) for o in originals]
    got = np.round(batch["target"] * 255).astype(np.uint8)
    assert got.shape == (2, 64, 64, 3)
    assert sorted(g.tobytes() for g in got) == sorted(e.tobytes() for e in expected)


def test_celeb_a_through_tfds_with_the_began_crop_box():
    """configs/began.py:celeba: BEGAN-tensorflow's box, rows 50-177 and columns 25-152 of
    CelebA's 218x178 aligned images (mocked by TFDS), at 128x128, no resize."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from configs import began

    config = began.get_config("celeba")
    assert (config.data.crop_box, config.data.center_crop, config.data.patch_size) == ((50, 25, 128, 128), 0, 128)
    config.data.num_threads, config.data.prefetch_buffer, config.data.augment = 1, 1, False
    with tfds.testing.mock_data(num_examples=2):
        originals = [TfdsSource("celeb_a", "train")[i] for i in range(2)]
        batch = next(iter(make_train_dataset(config.data, task="generate", batch_size=2, seed=0)))
    got = np.round(batch["target"] * 255).astype(np.uint8)
    assert sorted(g.tobytes() for g in got) == sorted(o[50:178, 25:153].tobytes() for o in originals)
