"""Training and evaluation data: sources (image folder, TFDS, procedural), degradations, grain pipeline.

Images are uint8 HxWx3 inside sources; examples and batches are float32 in [0, 1]
(NHWC for batches).
"""

from jaxrestore.data.pipeline import (
    DATA_DEFAULTS,
    make_eval_images,
    make_train_dataset,
)
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.data.sources import (
    ImageFolderSource,
    ProceduralSource,
    TfdsSource,
    parse_sources,
)
from jaxrestore.data.transforms import make_degradation

__all__ = [
    "DATA_DEFAULTS",
    "ImageFolderSource",
    "ProceduralSource",
    "TfdsSource",
    "dead_leaves",
    "make_degradation",
    "make_eval_images",
    "make_train_dataset",
    "parse_sources",
]
