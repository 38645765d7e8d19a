"""Classical and untrained baselines of 002_* and 003_* (issue 12): total variation,
patch-group low rank, sparse coding, Deep Image Prior. Each is a solver that uses only an
operator's ``A`` and ``AT`` (see :mod:`jaxrestore.inverse.operators`), so it runs on every
linear operator, and is ``vmap``-able over images."""
