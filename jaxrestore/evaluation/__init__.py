"""Evaluation as the literature does it: the SR and JPEG protocols (one registry,
:mod:`.protocols`), their classical baselines, scoring of images and folders, restorers that
apply a generator to images (whole or in tiles), comparison grids, the evaluate command's report
and training curves. Images are uint8 (HxW, HxWx1 or HxWx3) at this package's boundary."""

from jaxrestore.evaluation.base import Protocol, Restorer, luma_scores, luma_uint8, score_luma
from jaxrestore.evaluation.grids import comparison_grid
from jaxrestore.evaluation.jpeg import JpegProtocol, JpegRestorer, degrade_jpeg
from jaxrestore.evaluation.protocols import PROTOCOLS, protocol
from jaxrestore.evaluation.restorers import ModelRestorer, describe_source
from jaxrestore.evaluation.scoring import evaluate_folders, evaluate_images
from jaxrestore.evaluation.sr import BicubicRestorer, SRProtocol, degrade_sr, modcrop, score_sr
from jaxrestore.evaluation.tiling import restore_files, restore_image, restore_tiled

__all__ = [
    "PROTOCOLS",
    "BicubicRestorer",
    "JpegProtocol",
    "JpegRestorer",
    "ModelRestorer",
    "Protocol",
    "Restorer",
    "SRProtocol",
    "comparison_grid",
    "degrade_jpeg",
    "degrade_sr",
    "describe_source",
    "evaluate_folders",
    "evaluate_images",
    "luma_scores",
    "luma_uint8",
    "modcrop",
    "protocol",
    "restore_files",
    "restore_image",
    "restore_tiled",
    "score_luma",
    "score_sr",
]
