"""Classical and untrained baselines of 002_* and 003_*: total variation (:mod:`.tv`),
patch-group low rank (:mod:`.lowrank`), sparse coding (:mod:`.sparse`), Deep Image Prior
(:mod:`.dip`). Each is a pure function of ``(operator, y, options)`` that uses only the
operator's ``A`` and ``AT`` (DIP: only ``A``), so it runs on every linear operator, and is
``vmap``-able over images. A new baseline is one new module; the experiments reach it through
their registry (:mod:`jaxrestore.inverse.experiments.baselines`)."""

from jaxrestore.inverse.baselines.dip import DIPOptions, DIPResult, default_options, dip_restore, sr_options
from jaxrestore.inverse.baselines.lowrank import LowRankOptions, LowRankResult, lowrank_restore
from jaxrestore.inverse.baselines.sparse import SparseOptions, SparseResult, overcomplete_dct, sparse_restore
from jaxrestore.inverse.baselines.tv import TVOptions, TVResult, total_variation, tv_restore

__all__ = ["DIPOptions", "DIPResult", "LowRankOptions", "LowRankResult", "SparseOptions", "SparseResult", "TVOptions",
           "TVResult", "default_options", "dip_restore", "lowrank_restore", "overcomplete_dct", "sparse_restore",
           "sr_options", "total_variation", "tv_restore"]
