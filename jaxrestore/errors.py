"""User-facing errors.

Every mistake a person can make (a wrong path, an odd image, a mistyped config
key, a checkpoint from another model) is raised as a :class:`JaxRestoreError`
subclass carrying one sentence that names the problem and the fix. The
command-line entry points print that sentence and exit with status 2 instead of
showing a traceback (:mod:`jaxrestore.runtime.cli`).
"""


class JaxRestoreError(Exception):
    """Base class of errors caused by user input; the message is the whole story."""


class ConfigError(JaxRestoreError):
    """A configuration value is unknown, missing or out of range."""


class DataError(JaxRestoreError):
    """An image, folder or dataset cannot be used."""


class CheckpointError(JaxRestoreError):
    """A checkpoint or weight file cannot be used with this model."""


class TrainingDiverged(JaxRestoreError):
    """A loss became NaN or infinite; the last good checkpoint is left intact."""
