"""Latent-space solvers with a GAN prior, pure functions of ``(generator_fn, variables, operator,
y, key, options)``: MAP search of 002_* (:mod:`.map`), CSGM (:mod:`.csgm`) and IAGAN
(:mod:`.iagan`) of 003_*, all on one iteration skeleton (:mod:`.skeleton`: ``lax.scan``, the
best iterate in the scan state, restarts and images by ``vmap``), and back-projection
(:mod:`.backprojection`). Any ``generator_fn(variables, z) -> images`` works, so a user's own
Flax (or converted) generator does; observations are on the generator's scale ([-1, 1]).
A new solver is one new module on the skeleton."""

from jaxrestore.inverse.solvers.backprojection import back_project
from jaxrestore.inverse.solvers.csgm import CSGMOptions, csgm, data_term
from jaxrestore.inverse.solvers.iagan import IAGANOptions, iagan, iagan_optimizer, split_theta
from jaxrestore.inverse.solvers.map import (MAPOptions, clipped_step, latent_optimizer, map_search, objective_fn,
                                            prior_term)
from jaxrestore.inverse.solvers.skeleton import (LatentResult, best_of_restarts, initial_latents, optimise,
                                                 per_image_keys)

__all__ = ["CSGMOptions", "IAGANOptions", "LatentResult", "MAPOptions", "back_project", "best_of_restarts",
           "clipped_step", "csgm", "data_term", "iagan", "iagan_optimizer", "initial_latents", "latent_optimizer",
           "map_search", "objective_fn", "optimise", "per_image_keys", "prior_term", "split_theta"]
