"""The grain training pipeline: determinism, mixture, sharding, resume through orbax, eval images."""

import grain
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxrestore.data.pipeline import make_eval_images, make_train_dataset
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.data.sources import ProceduralSource
from jaxrestore.errors import ConfigError
from matlab_reference import imresize_loop

PROCEDURAL = "procedural:deadleaves:count=24:size=40:seed=5"


def _cfg(**over):
    cfg = {"train": PROCEDURAL, "patch_size": 16, "num_threads": 2, "prefetch_buffer": 4}
    cfg.update(over)
    return cfg


def _take(iterator, n):
    return [next(iterator) for _ in range(n)]


class ConstantSource:
    """Image ``i`` is a 4x4 image of value ``offset + i``, so a crop tells where it came from."""

    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((4, 4, 3), self.offset + i, np.uint8)

    def describe(self, i):
        return f"constant image {i}"

    def name(self, i):
        return f"c{i}"


def _ids(batches):
    return [int(round(v)) for b in batches for v in b["target"][:, 0, 0, 0] * 255]


def test_batches_shapes_ranges_and_determinism():
    ds = make_train_dataset(_cfg(), task="sr", scale=4, batch_size=3, seed=11)
    batches = _take(iter(ds), 3)
    for b in batches:
        assert b["target"].shape == (3, 16, 16, 3) and b["degraded"].shape == (3, 4, 4, 3)
        assert b["target"].dtype == np.float32 and b["degraded"].dtype == np.float32
        for x in b.values():
            assert 0.0 <= x.min() and x.max() <= 1.0
    again = _take(iter(make_train_dataset(_cfg(), task="sr", scale=4, batch_size=3, seed=11)), 3)
    for a, b in zip(batches, again):
        np.testing.assert_array_equal(a["target"], b["target"])
        np.testing.assert_array_equal(a["degraded"], b["degraded"])
    other = next(iter(make_train_dataset(_cfg(), task="sr", scale=4, batch_size=3, seed=12)))
    assert not np.array_equal(other["target"], batches[0]["target"])
    # data.seed is the default seed
    via_cfg = next(iter(make_train_dataset(_cfg(seed=11), task="sr", scale=4, batch_size=3)))
    np.testing.assert_array_equal(via_cfg["target"], batches[0]["target"])


def test_emitted_pairs_are_crops_of_the_source_with_matlab_lr():
    source = ProceduralSource(24, (40, 40), seed=5)
    full = [dead_leaves(source.image_seed(i), (40, 40)) for i in range(24)]
    batch = next(iter(make_train_dataset(_cfg(), task="sr", scale=4, batch_size=4, seed=0)))
    for hr_f, lr_f in zip(batch["target"], batch["degraded"]):
        hr = np.round(hr_f * 255).astype(np.uint8)
        # the target is an exact 16x16 window of one of the source images
        found = any(
            np.array_equal(img[t:t + 16, l:l + 16], hr)
            for img in full for t in range(25) for l in range(25))
        assert found
        np.testing.assert_array_equal(lr_f, imresize_loop(hr, 1 / 4).astype(np.float32) / 255)


def test_one_epoch_visits_every_image_once_and_epochs_reshuffle():
    ds = make_train_dataset(_cfg(patch_size=4), task="sr", scale=2, batch_size=1, seed=3,
                            sources=[ConstantSource(20)])
    ids = _ids(_take(iter(ds), 40))
    assert sorted(ids[:20]) == list(range(20)) and sorted(ids[20:]) == list(range(20))
    assert ids[:20] != list(range(20)) and ids[:20] != ids[20:]


def test_mixture_follows_weights():
    sources = [ConstantSource(30, offset=0), ConstantSource(30, offset=100)]
    for weights, frac in [("3,1", 0.75), ("", 0.5), ("0.2,0.8", 0.2)]:
        ds = make_train_dataset(_cfg(patch_size=4, train_weights=weights), task="sr", scale=2,
                                batch_size=8, seed=0, sources=sources)
        ids = np.array(_ids(_take(iter(ds), 50)))  # 400 samples
        assert abs(np.mean(ids < 100) - frac) < 0.02
        # each source is itself shuffled by epochs: its first 30 draws are its 30 images, once each
        for offset in (0, 100):
            drawn = ids[(ids >= offset) & (ids < offset + 30)]
            assert len(drawn) >= 30 and sorted(drawn[:30]) == list(range(offset, offset + 30))


def test_shards_are_disjoint_and_cover_the_data():
    sources = [ConstantSource(24)]
    shards = []
    for index in range(3):
        ds = make_train_dataset(_cfg(patch_size=4), task="sr", scale=2, batch_size=2, seed=9,
                                shard_index=index, shard_count=3, sources=sources)
        shards.append(_ids(_take(iter(ds), 4)))  # 8 of the 24 images of the first epoch
    sets = [set(s) for s in shards]
    assert all(len(s) == 8 for s in sets)
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set().union(*sets) == set(range(24))
    with pytest.raises(ConfigError):
        make_train_dataset(_cfg(), task="sr", scale=4, batch_size=2, shard_index=3, shard_count=3)


def test_bad_weights():
    for weights, word in [("1", "one weight per source"), ("1,x", "numbers"), ("1,0", "positive")]:
        with pytest.raises(ConfigError, match=word):
            make_train_dataset(_cfg(train_weights=weights), task="sr", scale=4, batch_size=2,
                               sources=[ConstantSource(3), ConstantSource(3)])


def test_iterator_state_resumes_exactly_through_orbax(tmp_path):
    def make():
        return iter(make_train_dataset(_cfg(), task="sr", scale=4, batch_size=2, seed=4))

    uninterrupted = _take(make(), 6)

    it = make()
    _take(it, 3)
    state = {"step": np.asarray(3), "w": np.arange(4.0)}
    with ocp.CheckpointManager(tmp_path / "ckpt") as manager:
        manager.save(3, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(it)))
        manager.wait_until_finished()
    _take(it, 2)  # the old iterator moves on; the checkpoint must not

    fresh = make()
    with ocp.CheckpointManager(tmp_path / "ckpt") as manager:
        restored = manager.restore(manager.latest_step(), args=ocp.args.Composite(
            state=ocp.args.StandardRestore(state), data=grain.checkpoint.CheckpointRestore(fresh)))
    np.testing.assert_array_equal(restored.state["w"], state["w"])
    resumed = _take(fresh, 3)
    for a, b in zip(uninterrupted[3:], resumed):
        np.testing.assert_array_equal(a["target"], b["target"])
        np.testing.assert_array_equal(a["degraded"], b["degraded"])
    # and the resumed batches are not simply the first ones again
    assert not np.array_equal(resumed[0]["target"], uninterrupted[0]["target"])


def test_eval_images(tmp_path):
    images = make_eval_images("procedural:deadleaves:count=3:size=50x45:seed=1000")
    assert list(images) == ["deadleaves_s1000_00000", "deadleaves_s1000_00001", "deadleaves_s1000_00002"]
    src = ProceduralSource(3, (50, 45), seed=1000)
    for (name, image), i in zip(images.items(), range(3)):
        np.testing.assert_array_equal(image, src[i])
    assert len(make_eval_images("procedural:deadleaves:count=3:size=8", count=2)) == 2


def test_jpeg_task_batches_are_luma_and_its_jpeg():
    from jaxrestore.imaging.jpeg import jpeg_compress

    ds = make_train_dataset(_cfg(patch_size=24), task="jpeg", quality=10, batch_size=3, seed=1,
                            shard_index=0, shard_count=1)
    batch = next(iter(ds))
    assert batch["degraded"].shape == batch["target"].shape == (3, 24, 24, 1)
    for target, degraded in zip(batch["target"], batch["degraded"]):
        clean = np.rint(target * 255).astype(np.uint8)
        np.testing.assert_array_equal(np.rint(degraded * 255).astype(np.uint8), jpeg_compress(clean, 10))


def test_worker_processes_resume_exactly_and_keep_each_windows_examples(make_config):
    # data.worker_count=2: grain's mp_prefetch, two processes each batching every second part of
    # the stream. Its state resumes exactly, and two consecutive batches hold the same examples
    # as the first two batches without workers (in another grouping).
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # grain's workers read absl flags, which pytest does not parse
    config = make_config("srresnet")
    config.data.worker_count = 2
    with_workers = iter(make_train_dataset(config.data, task="sr", scale=4, batch_size=2, seed=0))
    config.data.worker_count = 0
    plain = iter(make_train_dataset(config.data, task="sr", scale=4, batch_size=2, seed=0))
    try:
        window = [next(with_workers)["target"] for _ in range(2)]
        expected = [next(plain)["target"] for _ in range(2)]
        key = lambda images: sorted(float(np.asarray(x, np.float64).sum()) for x in images)  # noqa: E731
        assert key(np.concatenate(window)) == key(np.concatenate(expected))
        state = with_workers.get_state()
        after = [next(with_workers)["target"] for _ in range(3)]
        config.data.worker_count = 2
        resumed = iter(make_train_dataset(config.data, task="sr", scale=4, batch_size=2, seed=0))
        resumed.set_state(state)
        for a, b in zip(after, [next(resumed)["target"] for _ in range(3)]):
            np.testing.assert_array_equal(a, b)
        resumed.close()
    finally:
        with_workers.close()
