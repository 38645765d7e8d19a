"""Random-access image sources for grain: an image folder, a TFDS dataset, procedural images.

Every source has ``__len__`` and ``__getitem__(index) -> uint8 HxWx3`` (the
``grain.sources.RandomAccessDataSource`` protocol), plus ``describe(index)`` (the
image named in an error message: a path, a TFDS record) and ``name(index)`` (a
short stable key, used to name evaluation images).

Sources are chosen in the config by a spec string; several are separated by commas
(so a folder path cannot contain a comma):

* ``folder:/data/DIV2K_train_HR`` — the images directly inside a folder, read by
  :func:`jaxrestore.imaging.io.read_image` (grey, alpha, 16-bit and palette images
  become 8-bit RGB by that module's documented rule). ``folder:PATH[start:stop]``
  keeps a slice of the images sorted by file name (Python slice rules), e.g.
  ``folder:../shared/data/CelebA64[:18000]`` to train and ``[18000:]`` to hold out.
* ``tfds:<name>[:<version>][:<split>]`` — e.g. ``tfds:coco/2017:train``,
  ``tfds:imagenet2012:5.1.0:train``, ``tfds:coco/2017:validation[:500]``; the split
  defaults to ``train``. Read with ``tfds.data_source``, which needs the dataset
  prepared in the ``array_record`` file format (see :class:`TfdsSource`).
* ``procedural:deadleaves[:count=N][:size=S|HxW][:seed=K]`` — ``count`` images
  (default 10000) of ``size`` pixels (default 128) drawn by
  :func:`jaxrestore.data.procedural.dead_leaves`; ``seed`` (default 0) picks the
  set, and sets with different seeds share no image.
* ``procedural:faces[:count=N][:size=S|HxW][:seed=K]`` — the same for the aligned
  face-like images of :func:`jaxrestore.data.faces.face` (the GAN-prior presets'
  offline data).
"""

from __future__ import annotations

import os
import re
from typing import Protocol

import numpy as np
from PIL import Image

from jaxrestore.data.faces import face
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.io import list_images, read_image

SOURCE_KINDS = ("folder", "tfds", "procedural")
PROCEDURAL_GENERATORS = ("deadleaves", "faces")


class ImageSource(Protocol):
    """What the pipeline needs from a source."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> np.ndarray: ...
    def describe(self, index: int) -> str: ...
    def name(self, index: int) -> str: ...


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 HxW, HxWx1, HxWx3 or HxWx4 -> HxWx3 (grey replicated, alpha dropped)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image, dtype=np.uint8)


class ImageFolderSource:
    """The images directly inside ``path`` (sorted by file name), as uint8 RGB; ``select``
    (a ``slice``) keeps a part of that sorted list, e.g. a training and a held-out split."""

    def __init__(self, path: str | os.PathLike, select: slice | None = None):
        self.path = path
        self._paths = list_images(path)
        if select is not None:
            total = len(self._paths)
            self._paths = self._paths[select]
            if not self._paths:
                raise ConfigError(f"the slice [{select.start or ''}:{select.stop or ''}] of {str(path)!r} holds "
                                  f"no image (the folder has {total}); fix the slice.")

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return read_image(self._paths[int(index)], mode="rgb")

    def describe(self, index: int) -> str:
        return f"image {str(self._paths[int(index)])!r}"

    def image_size(self, index: int) -> tuple[int, int] | None:
        """(height, width) from the file's header without decoding it (None if unreadable)."""
        try:
            with Image.open(self._paths[int(index)]) as image:
                return image.height, image.width
        except (OSError, ValueError):
            return None

    def name(self, index: int) -> str:
        return self._paths[int(index)].stem

    def __repr__(self) -> str:
        return f"ImageFolderSource({str(self.path)!r}, {len(self)} images)"


def _default_tfds_dir() -> str:
    return os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")


def _prepare_hint(name: str, data_dir: str | None) -> str:
    dir_flag = f" --data_dir={data_dir}" if data_dir else ""
    base = name.split(":")[0]
    if base.startswith("imagenet2012"):
        manual = os.path.join(data_dir or _default_tfds_dir(), "downloads", "manual")
        return (f"ImageNet cannot be downloaded automatically: put ILSVRC2012_img_train.tar and "
                f"ILSVRC2012_img_val.tar in {manual}/, then run "
                f"`tfds build {base} --file_format=array_record{dir_flag}`")
    return f"run `tfds build {base} --file_format=array_record{dir_flag}`"


IMAGE_FEATURES = ("image", "hr")


class TfdsSource:
    """The ``image`` (or DIV2K's ``hr``) feature of a TFDS split, read with ``tfds.data_source`` (array_record).

    ``data_dir=None`` (or ``""``) is TFDS's default (``$TFDS_DATA_DIR`` or
    ``~/tensorflow_datasets``). Nothing is downloaded here: an unprepared dataset is a
    :class:`DataError` that says how to prepare it, e.g.
    ``tfds build coco/2017 --file_format=array_record``; a dataset prepared only as
    tfrecord must be rebuilt (or converted with ``tfds convert_format``) as array_record,
    because only array_record supports the random access grain needs.
    """

    def __init__(self, name: str, split: str = "train", data_dir: str | None = None):
        import tensorflow_datasets as tfds  # local: it loads TensorFlow; only a tfds source needs it

        self.dataset, self.split = name, split
        self.data_dir = data_dir or None
        try:
            self._source = tfds.data_source(
                name, split=split, data_dir=self.data_dir, download=False,
                builder_kwargs={"file_format": "array_record"})
        except Exception as err:  # diagnose, then re-raise as one clear sentence
            raise self._diagnose(tfds, err) from None
        features = getattr(getattr(self._source, "dataset_info", None), "features", None)
        keys = list(features.keys()) if features is not None else ["image"]
        # "image" for COCO, ImageNet and most image datasets; "hr" for DIV2K, whose "lr" is
        # ignored: the pipeline makes its own MATLAB-bicubic LR from the HR image.
        self._image_key = next((k for k in IMAGE_FEATURES if k in keys), None)
        if self._image_key is None:
            raise DataError(
                f"TFDS dataset {name!r} has no image feature named {' or '.join(IMAGE_FEATURES)} "
                f"(features: {', '.join(keys)}); use a dataset of images.")

    def _diagnose(self, tfds, err: Exception) -> Exception:
        name, data_dir = self.dataset, self.data_dir
        where = data_dir or f"the default TFDS data_dir ({_default_tfds_dir()})"
        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except tfds.core.registered.DatasetNotFoundError:
            return DataError(f"TFDS has no dataset named {name!r}; check the spelling in "
                             "data.train (e.g. tfds:coco/2017:train).")
        except Exception:  # pylint: disable=broad-except
            return err
        if not builder.is_prepared():
            return DataError(f"TFDS dataset {name!r} is not prepared in {where}; "
                             f"{_prepare_hint(name, data_dir)}.")
        formats = {str(getattr(f, "value", f)) for f in builder.info.available_file_formats()}
        if "array_record" not in formats:
            return DataError(
                f"TFDS dataset {name!r} in {builder.data_dir} exists only as "
                f"{', '.join(sorted(formats)) or 'tfrecord'}, but tfds.data_source needs "
                f"array_record; rebuild it ({_prepare_hint(name, data_dir)}) or convert it with "
                f"`tfds convert_format --dataset_version_dir={builder.data_dir} "
                "--out_file_format=array_record`.")
        split_name = re.match(r"[\w-]*", self.split).group()
        if split_name not in builder.info.splits:
            return DataError(f"TFDS dataset {name!r} has no split {self.split!r} (splits: "
                             f"{', '.join(builder.info.splits)}); fix the split in data.train.")
        return err

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, index: int) -> np.ndarray:
        return _as_rgb(self._source[int(index)][self._image_key])

    def describe(self, index: int) -> str:
        return f"record {int(index)} of TFDS {self.dataset}:{self.split}"

    def name(self, index: int) -> str:
        return f"{self.dataset.replace('/', '_').replace(':', '_')}_{self.split}_{int(index):06d}"

    def __repr__(self) -> str:
        return f"TfdsSource({self.dataset!r}, {self.split!r}, {len(self)} records)"


class ProceduralSource:
    """``num_images`` procedural images of ``size`` (``generator``: ``deadleaves`` or
    ``faces``); image ``i`` is seeded by ``(seed, i)``."""

    def __init__(self, num_images: int, size: int | tuple[int, int], seed: int = 0,
                 generator: str = "deadleaves"):
        if num_images < 1:
            raise ConfigError(f"procedural count must be at least 1, got {num_images}; fix count= in the spec.")
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or min(size) < 1:
            raise ConfigError(f"procedural size must be positive (S or HxW), got {size}; fix size= in the spec.")
        self.num_images, self.size, self.seed = int(num_images), (int(size[0]), int(size[1])), int(seed)
        self.generator = generator

    def __len__(self) -> int:
        return self.num_images

    def image_seed(self, index: int) -> int:
        """The :func:`dead_leaves` seed of image ``index``: a hash of ``(seed, index)``."""
        return int(np.random.SeedSequence((self.seed, int(index))).generate_state(1, np.uint64)[0])

    def __getitem__(self, index: int) -> np.ndarray:
        index = int(index)
        if not 0 <= index < self.num_images:
            raise IndexError(f"procedural image {index} out of range [0, {self.num_images})")
        if self.generator == "faces":
            return face(self.image_seed(index), self.size)
        return dead_leaves(self.image_seed(index), self.size)

    def image_size(self, index: int) -> tuple[int, int]:
        del index
        return self.size

    def describe(self, index: int) -> str:
        return (f"procedural image {int(index)} (seed {self.seed}, "
                f"{self.size[0]}x{self.size[1]})")

    def name(self, index: int) -> str:
        return f"{self.generator}_s{self.seed}_{int(index):05d}"

    def __repr__(self) -> str:
        return f"ProceduralSource({self.num_images}, {self.size}, seed={self.seed}, generator={self.generator!r})"


_TFDS_SPEC = re.compile(r"^(?P<name>[^:]+?(?::\d+\.\d+\.\d+)?)(?::(?P<split>.+))?$")


def _parse_procedural(rest: str, item: str) -> ProceduralSource:
    generator, *options = rest.split(":") if rest else [""]
    if generator not in PROCEDURAL_GENERATORS:
        raise ConfigError(f"unknown procedural generator {generator!r} in {item!r}; "
                          f"valid: {', '.join(PROCEDURAL_GENERATORS)}.")
    values = {"count": "10000", "size": "128", "seed": "0"}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in values:
            raise ConfigError(f"bad procedural option {option!r} in {item!r}; write "
                              "procedural:deadleaves:count=N:size=S (or HxW):seed=K.")
        values[key] = value
    try:
        count, seed = int(values["count"]), int(values["seed"])
        size = tuple(int(v) for v in values["size"].lower().split("x"))
    except ValueError:
        raise ConfigError(f"procedural options in {item!r} must be integers (size=S or HxW); "
                          "fix the spec.") from None
    if len(size) == 1:
        size = size * 2
    return ProceduralSource(count, size, seed, generator)


def parse_source(item: str, *, tfds_data_dir: str = "") -> ImageSource:
    """One source from one spec item (``kind:rest``); see the module docstring."""
    item = item.strip()
    kind, sep, rest = item.partition(":")
    if kind not in SOURCE_KINDS or not sep:
        raise ConfigError(f"unknown data source {item!r}; a source is one of "
                          f"{', '.join(k + ':...' for k in SOURCE_KINDS)} "
                          "(e.g. folder:/data/DIV2K_train_HR, tfds:coco/2017:train, "
                          "procedural:deadleaves).")
    if kind == "folder":
        if not rest:
            raise ConfigError(f"data source {item!r} names no folder; write folder:/path/to/images.")
        path, select = _folder_slice(rest, item)
        return ImageFolderSource(os.path.expanduser(path), select)
    if kind == "tfds":
        match = _TFDS_SPEC.match(rest)
        if not rest or match is None:
            raise ConfigError(f"data source {item!r} names no dataset; write tfds:<name>[:<split>].")
        return TfdsSource(match["name"], match["split"] or "train", tfds_data_dir or None)
    return _parse_procedural(rest, item)


_SLICE = re.compile(r"^(?P<path>.*)\[(?P<start>-?\d*):(?P<stop>-?\d*)\]$")


def _folder_slice(rest: str, item: str) -> tuple[str, slice | None]:
    """``PATH[start:stop]`` -> (PATH, slice) over the folder's sorted images; plain PATH -> None."""
    match = _SLICE.match(rest)
    if match is None:
        if rest.endswith("]") and "[" in rest:
            raise ConfigError(f"bad image slice in {item!r}; write folder:PATH[start:stop] with integers, "
                              "e.g. folder:../shared/data/CelebA64[:18000].")
        return rest, None
    to_int = lambda v: int(v) if v else None  # noqa: E731
    return match["path"], slice(to_int(match["start"]), to_int(match["stop"]))


def parse_sources(spec: str, *, tfds_data_dir: str = "", field: str = "data.train") -> list[ImageSource]:
    """Sources from a comma-separated spec, e.g. ``"tfds:coco/2017:train,tfds:imagenet2012:train"``;
    ``field`` is the config field the spec came from, named when a folder is missing."""
    items = [item for item in spec.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"no data source given; set {field} (e.g. procedural:deadleaves or "
                          "folder:/path/to/images).")
    for item in items:
        kind, _, rest = item.strip().partition(":")
        if kind == "folder" and rest:
            path = os.path.expanduser(_folder_slice(rest, item)[0])
            if not os.path.isdir(path):
                where = "" if os.path.isabs(path) else f" (relative to {os.getcwd()})"
                raise DataError(f"{field} names the image folder {path!r}, which does not exist{where}; set "
                                f"--config.{field}=folder:DIR to your own images (comma-separated for several).")
    return [parse_source(item, tfds_data_dir=tfds_data_dir) for item in items]
