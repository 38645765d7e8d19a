"""The ground every part of the package stands on, with no knowledge of methods, tasks or
papers: the run directory (:mod:`.rundir`: ``config.json``, the workdir) and its checkpoints
(:mod:`.checkpoints`), config files (:mod:`.configs`), data parallelism (:mod:`.parallel`), mixed
precision (:mod:`.precision`), preemption and Ctrl-C (:mod:`.preemption`), device-side step
metrics (:mod:`.step_metrics`), XLA's compilation cache (:mod:`.compilation_cache`), atomic files
(:mod:`.atomic`) and the one results writer (:mod:`.results`), failed writes explained
(:mod:`.storage`), TensorBoard scalars read back (:mod:`.scalars`), durations for progress lines
(:mod:`.progress`) and the command-line runner (:mod:`.cli`)."""
