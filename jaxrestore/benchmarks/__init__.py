"""Benchmarks: scripts that print figures, never assert them (``python -m jaxrestore.benchmark``):
a config's training step, pipeline and memory (:mod:`.training`), the same steps in plain
PyTorch side by side (:mod:`.torch_compare`, :mod:`.torch_steps`), 002_*'s MAP search
(:mod:`.map`), 003_*'s CSGM / IAGAN and the conjugate gradients of the Gaussian pseudo-inverse
(:mod:`.latent`), and the classical and untrained baselines (:mod:`.baselines`)."""
