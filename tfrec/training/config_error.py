"""The error of a training setting a user must fix."""


class ConfigError(ValueError):
    """A training setting out of range or unusable: a user's mistake, named by its field.

    Raised by `TrainingConfig.validate`, by `run_experiment`'s checks before any data is read
    (an unwritable output path, a distribute kind the experiment lacks, a global batch the
    workers cannot share), by the argument checks of `HeldOutUsersExperiment` and
    `LeaveOneOutExperiment` (`NextItemExperiment` and `LRURecExperiment` raise a plain
    `ValueError`), and by ``tfrec recommend`` and ``tfrec evaluate`` for a request or an
    export that does not fit. The ``tfrec`` command prints it on one line and exits with
    status 2, as for a `tfrec.data.DataError` in an input file. A subclass of `ValueError`, as
    the checks raised before.

    Example:
        >>> from tfrec.training import ConfigError
        >>> issubclass(ConfigError, ValueError)
        True
    """
