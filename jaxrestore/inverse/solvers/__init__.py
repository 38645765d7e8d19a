"""Latent-space solvers with a GAN prior, pure functions of ``(generator_fn, variables, operator,
y, key, options)``: MAP search of 002_* (:mod:`.map`), CSGM (:mod:`.csgm`) and IAGAN
(:mod:`.iagan`) of 003_*, all on one iteration skeleton (:mod:`.skeleton`: ``lax.scan``, the
best iterate in the scan state, restarts and images by ``vmap``), and back-projection
(:mod:`.backprojection`). Any ``generator_fn(variables, z) -> images`` works, so a user's own
Flax (or converted) generator does; observations are on the generator's scale ([-1, 1]).
Each latent solver also comes in segments of its iterations (``map_segments``,
``csgm_segments``, ``iagan_segments``: :class:`~.skeleton.Segmented`), with the same results,
for a run that reports, stops and resumes between them. A new solver is one new module on the
skeleton."""

from jaxrestore.inverse.solvers.backprojection import back_project
from jaxrestore.inverse.solvers.csgm import CSGMOptions, csgm, csgm_segments, data_term
from jaxrestore.inverse.solvers.iagan import IAGANOptions, iagan, iagan_optimizer, iagan_segments, split_theta
from jaxrestore.inverse.solvers.map import (MAPOptions, clipped_step, latent_optimizer, map_search, map_segments,
                                            objective_fn, prior_term)
from jaxrestore.inverse.solvers.skeleton import (LatentResult, Segmented, best_of_restarts, initial_latents, optimise,
                                                 per_image_keys, segment_lengths)

__all__ = ["CSGMOptions", "IAGANOptions", "LatentResult", "MAPOptions", "Segmented", "back_project",
           "best_of_restarts", "clipped_step", "csgm", "csgm_segments", "data_term", "iagan", "iagan_optimizer",
           "iagan_segments", "initial_latents", "latent_optimizer", "map_search", "map_segments", "objective_fn",
           "optimise", "per_image_keys", "prior_term", "segment_lengths", "split_theta"]
