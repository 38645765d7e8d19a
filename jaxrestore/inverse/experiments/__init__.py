"""The two restoration experiments of the papers, run by ``jaxrestore.main`` as runs: 002_*'s
GAN-prior restoration (:mod:`.gan_prior`, ``configs/gan_prior.py``: the five problems of
:mod:`.problems_002`) and 003_*'s CSGM / IAGAN / back-projection (:mod:`.iagan`,
``configs/iagan.py``: the four problems of :mod:`.problems_003`), with the classical baselines as
experiment methods (:mod:`.baselines`), the workdir as a run that resumes and stops cleanly
(:mod:`.runs`, :mod:`.chunks`), one results schema and writer (:mod:`.common`), the figures (:mod:`.figures`), the published tables (:mod:`.tables`) and the baselines' tuning on a
validation split (:mod:`.tune`)."""

from jaxrestore.inverse.experiments.commands import COMMANDS, for_config

__all__ = ["COMMANDS", "for_config"]
