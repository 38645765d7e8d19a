"""The inverse-problems half: forward operators (:mod:`.operators`), the corruption
processes of 002_* (:mod:`.corruption`), and latent-space solvers."""
