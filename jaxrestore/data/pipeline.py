"""The grain training pipeline and the held-out evaluation images.

Batches are ``{"degraded": (N,h,w,C), "target": (N,H,W,C)}`` float32 in [0, 1]
(NHWC); for SR ``H = h * scale`` and C = 3, for JPEG ``H = h`` and C = 1 (luma).

Training pipeline (:func:`make_train_dataset`), all lazy and index-based, so every
element is a pure function of ``(seed, position in the stream)``:

  per source: indices 0..n-1 -> shuffle(seed, source) -> repeat forever (reshuffled
  each epoch) -> mix the sources by ``data.train_weights`` -> read the image ->
  random crop / flips / degradation (seeded by seed and position) -> this process's
  shard (every ``process_count``-th element from ``process_index``) -> threaded
  prefetch -> batch (drop remainder).

The iterator (``iter(dataset)``) is a ``grain.DatasetIterator``; its state is a
small dict (position in the stream), saved with the training state through the
run's ``orbax.checkpoint.CheckpointManager`` so a resumed run sees exactly the
batches an uninterrupted run would::

    import grain, orbax.checkpoint as ocp
    ds_iter = iter(make_train_dataset(config.data, task=..., scale=..., batch_size=...))
    # save
    manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(ds_iter)))
    # restore (ds_iter is a fresh iterator of the same pipeline; it is updated in place)
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), data=grain.checkpoint.CheckpointRestore(ds_iter)))
    state = restored.state

Config fields read from ``config.data`` (defaults in :data:`DATA_DEFAULTS`; a field
missing from the config takes its default):

* ``data.train`` (str, ``"procedural:deadleaves"``): source spec, comma-separated
  (see :mod:`jaxrestore.data.sources`), e.g. ``"tfds:coco/2017:train,tfds:imagenet2012:train"``
  for SRGAN's training set (000_* §4.2.1) or ``"folder:/data/DIV2K_train_HR"``.
* ``data.train_weights`` (str, ``""``): comma-separated mixing weights, one per
  source; empty = equal weights (000_* samples COCO and ImageNet equally).
* ``data.tfds_data_dir`` (str, ``""``): TFDS data_dir; empty = ``$TFDS_DATA_DIR`` or
  ``~/tensorflow_datasets``.
* ``data.patch_size`` (int, ``96``): side of the HR training crop (000_* §4.2.1: 96);
  a multiple of the scale.
* ``data.augment`` (bool, ``False``): random flips and 90-degree rotations (SRGAN
  does not use them; ESRGAN-style recipes do).
* ``data.skip_small_images`` (bool, ``False``): drop images smaller than the crop
  instead of stopping with a DataError (ImageNet has a few tiny images).
* ``data.center_crop`` (int, ``0``) and ``data.resize`` (int, ``0``): before the random
  crop, cut the central ``center_crop`` x ``center_crop`` square of each image and resize it
  to ``resize`` x ``resize`` (0: off) — the DCGAN recipe for CelebA's aligned 218x178
  images is 108 then 64 (:func:`jaxrestore.data.transforms.centre_crop_resize`).
* ``data.crop_box`` (tuple, ``()``): instead of the centre square, the (top, left, height,
  width) rectangle (BEGAN-tensorflow's CelebA crop is (50, 25, 128, 128)).
* ``data.num_threads`` (int, ``8``): threads reading and transforming images.
* ``data.prefetch_buffer`` (int, ``64``): elements prefetched by those threads.
* ``data.worker_count`` (int, ``-1`` = auto): grain worker processes that read, crop and
  degrade batches beside the training process (``mp_prefetch``); 0 keeps everything in
  this process's threads. Auto is 0 on a CPU backend (the step needs the cores) and
  ``min(8, cores // 2)`` beside a GPU or TPU. Each worker produces whole batches of every
  worker_count-th part of the stream, so the batches differ from those of another worker
  count (the examples of each window of worker_count batches are the same); a run resumes
  exactly with the worker count it was saved with.
* ``data.seed`` (int, ``0``): seed of the data order and the random crops; separate
  from the model seed, so changing one does not change the other.

The held-out evaluation images come from a separate source spec (``config.eval.data``,
read by the training loop) through :func:`make_eval_images`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import grain
import jax
import numpy as np

from jaxrestore.data.sources import ImageSource, parse_sources
from jaxrestore.data.transforms import CropAugmentDegrade, centre_crop_resize, make_degradation
from jaxrestore.errors import ConfigError, DataError

DATA_DEFAULTS: dict[str, Any] = {
    "train": "procedural:deadleaves",
    "train_weights": "",
    "tfds_data_dir": "",
    "patch_size": 96,
    "augment": False,
    "skip_small_images": False,
    "num_threads": 8,
    "worker_count": -1,
    "prefetch_buffer": 64,
    "seed": 0,
    "center_crop": 0,
    "crop_box": (),
    "resize": 0,
}


def _field(data_cfg: Any, name: str) -> Any:
    if isinstance(data_cfg, dict):
        return data_cfg.get(name, DATA_DEFAULTS[name])
    return getattr(data_cfg, name, DATA_DEFAULTS[name])


def _derived_seed(seed: int, *salt: int) -> int:
    """A 32-bit seed from ``seed`` and salts (e.g. the source number)."""
    return int(np.random.SeedSequence((int(seed), *salt)).generate_state(1)[0])


def parse_weights(weights: str, num_sources: int) -> list[float] | None:
    """``"0.5,0.5"`` -> ``[0.5, 0.5]``; empty -> ``None`` (equal weights)."""
    if not weights.strip():
        return None
    try:
        values = [float(w) for w in weights.split(",")]
    except ValueError:
        raise ConfigError(f"data.train_weights={weights!r} must be comma-separated numbers, "
                          "one per source (or empty for equal weights).") from None
    if len(values) != num_sources:
        raise ConfigError(f"data.train_weights has {len(values)} weights for {num_sources} "
                          "sources in data.train; give one weight per source.")
    if not all(v > 0 and np.isfinite(v) for v in values):
        raise ConfigError(f"data.train_weights={weights!r} must all be positive; remove a source "
                          "from data.train instead of giving it weight 0.")
    return values


def mixed_index_dataset(sizes: list[int], weights: list[float] | None, seed: int) -> grain.MapDataset:
    """Infinite MapDataset of ``(source number, index in source)``, shuffled and mixed.

    Each source's indices are shuffled and repeated forever (a new order each epoch),
    then sources are interleaved in the proportions of ``weights`` — shuffling before
    mixing keeps the proportions exact (grain's ``MapDataset.mix`` docs).
    """
    streams = []
    for k, size in enumerate(sizes):
        stream = grain.MapDataset.range(size).shuffle(seed=_derived_seed(seed, 1, k)).repeat()
        streams.append(stream.map(lambda i, k=k: (k, int(i))))
    if len(streams) == 1:
        return streams[0]
    return grain.MapDataset.mix(streams, weights)


class _ReadImage(grain.transforms.Map):
    """``(source number, index)`` -> ``{"image": uint8 HxWx3, "description": str}``, centre-cropped
    and resized when ``data.center_crop`` / ``data.resize`` ask for it."""

    def __init__(self, sources: list[ImageSource], *, center_crop: int = 0, resize: int = 0, crop_box=()):
        self.sources, self.center_crop, self.resize = sources, int(center_crop), int(resize)
        self.crop_box = tuple(crop_box)

    def map(self, element: tuple[int, int]) -> dict[str, Any]:
        k, i = element
        source = self.sources[k]
        image = centre_crop_resize(source[i], self.center_crop, self.resize, box=self.crop_box,
                                   description=source.describe(i))
        return {"image": image, "description": source.describe(i)}


def make_train_dataset(
    data_cfg: Any,
    *,
    task: str,
    batch_size: int,
    scale: int | None = None,
    quality: int | None = None,
    augmentation: str = "dihedral",
    seed: int | None = None,
    shard_index: int | None = None,
    shard_count: int | None = None,
    sources: list[ImageSource] | None = None,
) -> grain.IterDataset:
    """The infinite training dataset of this process; ``iter()`` it for checkpointable batches.

    Args:
      data_cfg: ``config.data`` (fields in the module docstring).
      task: degradation task (``"sr"`` or ``"jpeg"``).
      scale: SR scale factor (task ``"sr"``).
      quality: JPEG quality factor (task ``"jpeg"``).
      augmentation: what ``data.augment`` applies (the task's choice: ``"dihedral"`` flips
        and 90-degree rotations, ``"hflip"`` horizontal flips).
      batch_size: examples per batch on this process.
      seed: data seed; default ``data.seed``.
      shard_index, shard_count: this process's shard; default
        ``jax.process_index()`` and ``jax.process_count()``.
      sources: already-built sources instead of parsing ``data.train`` (tests).
    """
    seed = int(_field(data_cfg, "seed") if seed is None else seed)
    shard_index = jax.process_index() if shard_index is None else int(shard_index)
    shard_count = jax.process_count() if shard_count is None else int(shard_count)
    if not 0 <= shard_index < shard_count:
        raise ConfigError(f"shard {shard_index} of {shard_count} does not exist; pass "
                          "0 <= shard_index < shard_count.")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}; fix the config.")
    if sources is None:
        sources = parse_sources(_field(data_cfg, "train"),
                                tfds_data_dir=_field(data_cfg, "tfds_data_dir"))
    weights = parse_weights(_field(data_cfg, "train_weights"), len(sources))
    if _field(data_cfg, "skip_small_images"):
        check_usable_images(sources, int(_field(data_cfg, "patch_size")), data_cfg)
    logging.info("Training data: %s, weights %s, shard %d of %d.",
                 ", ".join(map(repr, sources)), weights or "equal", shard_index, shard_count)

    transform = CropAugmentDegrade(
        patch_size=int(_field(data_cfg, "patch_size")),
        degradation=make_degradation(task, **{k: v for k, v in (("scale", scale), ("quality", quality))
                                              if v is not None}),
        augment=bool(_field(data_cfg, "augment")),
        augmentation=augmentation,
        skip_small_images=bool(_field(data_cfg, "skip_small_images")))
    ds = mixed_index_dataset([len(s) for s in sources], weights, seed)
    ds = ds.map(_ReadImage(sources, center_crop=_field(data_cfg, "center_crop"), resize=_field(data_cfg, "resize"),
                           crop_box=_field(data_cfg, "crop_box")))
    ds = ds.random_map(transform, seed=_derived_seed(seed, 2))
    ds = ds[shard_index::shard_count]
    ds = ds.to_iter_dataset(grain.ReadOptions(
        num_threads=int(_field(data_cfg, "num_threads")),
        prefetch_buffer_size=int(_field(data_cfg, "prefetch_buffer"))))
    ds = ds.batch(batch_size, drop_remainder=True)
    workers = worker_count(_field(data_cfg, "worker_count"))
    if workers > 0:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
    return ds


def worker_count(setting: int) -> int:
    """``data.worker_count``, with -1 (auto) resolved for this platform."""
    setting = int(setting)
    if setting < -1:
        raise ConfigError(f"data.worker_count={setting} must be -1 (auto), 0 (no worker processes) or more.")
    if setting >= 0:
        return setting
    if jax.default_backend() == "cpu":
        return 0
    return min(8, max(1, (os.cpu_count() or 2) // 2))


# Sources larger than this are counted on their first this-many images only (reading the
# header of every image of ImageNet would take minutes).
SIZE_COUNT_LIMIT = 20_000


def _effective_size(size: tuple[int, int], data_cfg) -> tuple[int, int]:
    """An image's size after ``data.crop_box`` / ``data.center_crop`` / ``data.resize``."""
    resize, box, centre = int(_field(data_cfg, "resize")), tuple(_field(data_cfg, "crop_box")), \
        int(_field(data_cfg, "center_crop"))
    if resize:
        return resize, resize
    if box:
        return int(box[2]), int(box[3])
    if centre:
        return min(centre, size[0]), min(centre, size[1])
    return size


def check_usable_images(sources, patch_size: int, data_cfg) -> None:
    """With ``data.skip_small_images``, counts the training images at least ``patch_size`` on
    both sides (where a source can tell sizes without decoding): none usable is a DataError
    (grain would otherwise skip every image forever), most skipped is a warning with the count."""
    counted = usable = 0
    complete = True
    for source in sources:
        size_of = getattr(source, "image_size", None)
        if size_of is None:
            complete = False
            continue
        n = min(len(source), SIZE_COUNT_LIMIT)
        complete &= n == len(source)
        for i in range(n):
            size = size_of(i)
            if size is None:
                continue
            counted += 1
            usable += min(_effective_size(size, data_cfg)) >= patch_size
    if counted == 0:
        return
    where = "" if complete else f" (of the {counted} whose size could be read)"
    if usable == 0 and complete:
        raise DataError(f"none of the {counted} training images in data.train is at least {patch_size}x{patch_size} "
                        f"pixels (data.patch_size), so data.skip_small_images would skip them all; lower "
                        "data.patch_size or train on larger images.")
    if usable < counted / 2:
        logging.warning("data.skip_small_images: only %d of %d training images%s are at least %dx%d pixels; "
                        "the others are skipped.", usable, counted, where, patch_size, patch_size)


def make_eval_images(spec: str, *, count: int | None = None, tfds_data_dir: str = "",
                     center_crop: int = 0, resize: int = 0, crop_box=(), field: str = "eval.data") -> dict[str, np.ndarray]:
    """Full held-out images by name, uint8 HxWx3, in source order.

    ``spec`` is a source spec (e.g. ``folder:/data/Set14`` or
    ``procedural:deadleaves:count=8:size=192:seed=1000``); ``count`` keeps the first
    that many (``None`` or 0 = all); ``center_crop`` / ``resize`` as ``data.center_crop`` /
    ``data.resize`` of the training pipeline. Images stay uint8 so the evaluation degrades them
    exactly as the evaluation protocol of their task does. ``field`` is the config field the
    spec came from, named when a folder is missing.
    """
    images: dict[str, np.ndarray] = {}
    for k, source in enumerate(parse_sources(spec, tfds_data_dir=tfds_data_dir, field=field)):
        for i in range(len(source)):
            if count and len(images) >= count:
                return images
            name = source.name(i)
            if name in images:
                name = f"{k}_{name}"
            images[name] = centre_crop_resize(source[i], center_crop, resize, box=crop_box,
                                              description=source.describe(i))
    return images
