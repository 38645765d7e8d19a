"""What the training loop (:mod:`jaxrestore.train`) is handed: tasks (:mod:`.tasks`: SR, JPEG
artifact removal, a GAN prior's generation), methods (:mod:`.methods`: joint, constrained,
ESRGAN family, unconditional GAN, BEGAN), the periodic evaluators (:mod:`.evaluators`), how a
run starts from other runs (:mod:`.starts`), and a finished run read back as a restorer
(:mod:`.runs`) or exported (:mod:`.export`)."""
