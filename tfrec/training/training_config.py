"""The settings of one training run that every protocol shares."""

import dataclasses

from tfrec.training.config_error import ConfigError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class TrainingConfig:
    """How `run_experiment` trains, checkpoints, evaluates and exports, whatever the protocol.

    Fields left at None take the experiment's default (`Experiment.default_config`), so that
    ``TrainingConfig()`` trains each model with its documented recipe.

    Args:
        epochs: int. Upper bound on training epochs (early stopping may end sooner).
        batch_size: int. Global batch (examples per update over all workers).
        learning_rate: float. Adam/AdamW learning rate at `base_batch_size`.
        seed: int. Seeds the split, the model's initialisation, shuffling and dropout.
        precision: "float32", "mixed_float16" or "mixed_bfloat16" (the Keras global policy).
        distribute: "none", "horovod" or "multiworker" (`tfrec.distribute.make_context`);
            only experiments with ``supports_distribute`` accept another kind than "none".
        threads_per_worker: int. TensorFlow threads per process (None: TensorFlow's default).
        base_batch_size: int. Batch the learning rate was tuned at (None: `batch_size`, no
            scaling).
        lr_scaling: "linear" (Goyal et al., 2017), "sqrt" or "none": how the rate grows with
            batch_size / base_batch_size.
        warmup_epochs: float. Epochs of gradual warmup to the scaled rate (0: none).
        patience: int. Epochs without a better validation metric before stopping (None: never
            stop early). The best epoch's weights are restored either way.
        steps_per_execution: int. Batches per call of the compiled training function.
        jit_compile: bool. Compile the training step with XLA.
        checkpoint_dir: str. Folder for the state a killed run resumes from (weights, optimizer,
            epoch, early-stopping state); rerunning with the same folder continues the run.
            Deleted after a successful run. None: no checkpoints.
        tensorboard_dir: str. Folder of TensorBoard event files: per epoch the loss, every
            validation metric, the learning rate and the model's logged values (Mult-VAE's KL
            weight ``beta``). Written by the chief only. None: no TensorBoard logs.
        profile_batch: int. Profile this training batch into `tensorboard_dir` (0: off).
        export_dir: str. TF Serving model folder; a new numbered version is written inside
            (None: ``saved_models/<model>``).
        export: bool. Write a SavedModel.
        metrics_out: str. Path of the metrics JSON (None: not written).
        verbose: 0, 1 or 2. Keras verbosity; 0 also silences tfrec's own progress output.

    Raises:
        ConfigError: (a `ValueError`) from `validate` when a value is out of range, naming the
            field.
    """

    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 98765
    precision: str = "float32"
    distribute: str = "none"
    threads_per_worker: int | None = None
    base_batch_size: int | None = None
    lr_scaling: str = "linear"
    warmup_epochs: float = 0.0
    patience: int | None = None
    steps_per_execution: int | None = None
    jit_compile: bool = False
    checkpoint_dir: str | None = None
    tensorboard_dir: str | None = None
    profile_batch: int = 0
    export_dir: str | None = None
    export: bool = True
    metrics_out: str | None = None
    verbose: int = 1

    def with_defaults(self, defaults: dict) -> "TrainingConfig":
        """A copy whose None fields take the values in `defaults` (field name -> value)."""
        unknown = set(defaults) - {field.name for field in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"Unknown TrainingConfig fields in defaults: {sorted(unknown)}.")
        filled = {name: value for name, value in defaults.items() if getattr(self, name) is None}
        return dataclasses.replace(self, **filled)

    def validate(self, partial: bool = False) -> None:
        """Raises `ConfigError` naming the first field whose value is out of range.

        Args:
            partial: bool. Skip the fields still None (before the experiment's defaults).
        """
        from tfrec.distribute import DISTRIBUTE_KINDS
        from tfrec.schedules.linear_scaling_warmup import SCALING_RULES

        for name in ("epochs", "batch_size", "steps_per_execution"):
            _check_positive(name, getattr(self, name), allow_none=partial)
        for name in ("threads_per_worker", "base_batch_size", "patience"):
            _check_positive(name, getattr(self, name), allow_none=True)
        if not (partial and self.learning_rate is None):
            if self.learning_rate is None or not self.learning_rate > 0:
                raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}.")
        if isinstance(self.profile_batch, bool) or not (
            int(self.profile_batch) == self.profile_batch and self.profile_batch >= 0
        ):
            raise ConfigError(f"profile_batch must be an integer >= 0, got {self.profile_batch!r}.")
        if not self.warmup_epochs >= 0:
            raise ConfigError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}.")
        choices = {
            "precision": PRECISIONS,
            "distribute": DISTRIBUTE_KINDS,
            "lr_scaling": SCALING_RULES,
            "verbose": (0, 1, 2),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")


def _check_positive(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or int(value) != value or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
