"""The training protocol that every tfrec model follows, and the `Experiment` each supplies.

`run_experiment` does, for every model: seed, precision and distribute context; `compile` in the
context's scope; `fit` with the context's callbacks, the experiment's validation callback,
`EarlyStopping` (best weights restored), `TerminateOnNaN`, given a checkpoint folder
`BackupAndRestore` and, given a TensorBoard folder, `TensorBoard` (on the chief); evaluation
on test users; export through the experiment's `tfrec.export.RecommenderServing`; one
metrics-JSON schema. An `Experiment` supplies only what differs between protocols: its split,
model, training data, validation and test evaluation and serving module.
"""

import dataclasses
import json
import math
import pathlib
import random
import shutil
import time

from tfrec.training.config_error import ConfigError
from tfrec.training.training_config import TrainingConfig
from tfrec.utils.atomic import atomic_output
from tfrec.utils.machine import describe_snapshot, machine_snapshot

import numpy as np
import tf_keras as keras


class TrainingDiverged(RuntimeError):
    """Raised when the training loss or the chosen epoch's validation metric is not finite."""


class Experiment:
    """One training protocol on one dataset: what `run_experiment` needs from a model family.

    Subclasses set the class attributes and implement the methods below; `run_experiment` calls
    them in this order: `load`, `default_config` (after loading, so defaults may depend on the
    data), `build_model`, then either `fit_closed_form` or `make_optimizer`, `training_data` and
    `validation_metrics` (through `fit`), then `test_metrics`, `validation_metrics` and
    `serving`.

    Attributes:
        name: str. The model's command name (``"mult-vae"``); names the export folder.
        dataset: str. Dataset name, for logs and the metrics file.
        protocol: str. The evaluation protocol (``"heldout-users"``, ``"leave-one-out"``,
            ``"next-item"``), recorded in the export for `tfrec evaluate`.
        monitor: str. Validation metric (a key of `validation_metrics`) that chooses the epoch.
        monitor_mode: "max" or "min".
        supports_distribute: bool. Whether Horovod / multi-worker training is implemented.
        closed_form: bool. The model is solved in closed form (no `fit`, no validation curve).
        verbose: int. Keras verbosity of the run, set by `run_experiment` before `test_metrics`
            (`TrainingConfig.verbose`): at 1, a long test evaluation shows a progress bar.
    """

    name = "experiment"
    dataset = ""
    protocol = ""
    monitor = ""
    monitor_mode = "max"
    supports_distribute = False
    closed_form = False
    verbose = 0

    def load(self, context, seed: int) -> None:
        """Reads and splits the data (a split seeded by `seed`); prints a summary on the chief."""
        raise NotImplementedError

    def default_config(self) -> dict:
        """`TrainingConfig` values used where the caller left a field None."""
        return {}

    def steps_per_epoch(self, context, local_batch_size: int) -> int:
        """Training batches per epoch on each worker."""
        raise NotImplementedError

    def build_model(self, config: TrainingConfig, steps_per_epoch: int):
        """Returns the Keras model (called inside the distribute context's scope)."""
        raise NotImplementedError

    def learning_rate_decay(self, config: TrainingConfig, steps_per_epoch: int):
        """An optional `LearningRateSchedule` the rate follows after any scaling warmup."""
        return None

    def make_optimizer(self, learning_rate, config: TrainingConfig):
        """Returns the Keras optimizer for `learning_rate` (a float or a schedule)."""
        return keras.optimizers.Adam(learning_rate=learning_rate)

    def training_data(self, context, local_batch_size: int, steps_per_epoch: int, seed: int):
        """Keyword arguments of `fit` for the training data (``x``, maybe ``steps_per_epoch``)."""
        raise NotImplementedError

    def fit_closed_form(self, model) -> None:
        """Solves a closed-form model (only when `closed_form`)."""
        raise NotImplementedError

    def validation_metrics(self, model) -> dict:
        """Flat dict of float validation metrics; `monitor` is one of its keys."""
        raise NotImplementedError

    def test_metrics(self, model) -> dict:
        """The reported test metrics (JSON-serialisable, may be nested)."""
        raise NotImplementedError

    def print_test_metrics(self, test: dict) -> None:
        """Prints the test metrics as a table."""
        print(json.dumps(test, indent=2, sort_keys=True))

    def example_input(self):
        """A batch that builds a copy of the model (for `DistributedContext.chief_model`)."""
        return None

    def serving(self, model):
        """The `tfrec.export.RecommenderServing` to export."""
        raise NotImplementedError

    def describe(self) -> dict:
        """Extra entries of the metrics file (model options, split sizes)."""
        return {}

    def protocol_settings(self) -> dict:
        """The options that, with the dataset and the seed, rebuild the test split and metrics.

        Recorded in the export's ``assets.extra/tfrec.json``, so that `tfrec evaluate` scores
        the same test users as the training run (JSON-serialisable values).
        """
        return {}


def set_seed(seed: int) -> None:
    """Seeds Python, numpy and TensorFlow (`tf_keras.utils.set_random_seed`)."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def local_batch_size(batch_size: int, context) -> int:
    """The per-worker batch: the global `batch_size` / world size, which must divide evenly."""
    if batch_size % context.world_size:
        raise ConfigError(
            f"batch_size {batch_size} (global) must be divisible by the world size "
            f"{context.world_size}."
        )
    return batch_size // context.world_size


def learning_rate_schedule(config: TrainingConfig, steps_per_epoch: int, decay=None):
    """`LinearScalingWarmup` for the config's scaling rule and warmup, or the plain float rate.

    `decay` (a `LearningRateSchedule`, e.g. a cosine decay) is passed to the warmup's decay hook.
    """
    from tfrec.schedules import LinearScalingWarmup

    learning_rate, batch_size = config.learning_rate, config.batch_size
    assert learning_rate is not None and batch_size is not None, "call config.validate() first"
    base_batch = config.base_batch_size or batch_size
    if base_batch == batch_size and not config.warmup_epochs and decay is None:
        return learning_rate
    return LinearScalingWarmup(
        learning_rate,
        base_batch_size=base_batch,
        global_batch_size=batch_size,
        scaling_rule=config.lr_scaling,
        warmup_epochs=config.warmup_epochs,
        steps_per_epoch=steps_per_epoch,
        decay=decay,
    )


def write_metrics(path, payload: dict) -> None:
    """Writes `payload` as JSON to `path` atomically (a kill leaves the old file or none)."""
    with atomic_output(path) as temporary:
        with open(temporary, "w") as stream:
            json.dump(payload, stream, indent=2, sort_keys=True, allow_nan=True)
            stream.write("\n")


def check_writable(path, what: str) -> None:
    """Raises `ConfigError` naming `what` if `path` cannot be written as what it is meant to be.

    `what` ending in ``folder`` means `path` is a folder to create or write into; otherwise a
    file. An existing entry of the other kind and a missing or unwritable nearest existing
    parent are refused.
    """
    import os

    path = pathlib.Path(path)
    is_folder = what.endswith("folder")
    if is_folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder.")
    if not is_folder and path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file path, e.g. {path / 'run.json'}.")
    folder = path if is_folder else path.parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: {existing} is not a writable folder.")


class _TerminateOnNaNRecorded(keras.callbacks.TerminateOnNaN):
    """`TerminateOnNaN` that remembers the epoch and the loss it stopped training at."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.stopped_at = None
        self.loss = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_at, self.loss = self.epoch, float(loss)


class _TensorBoard(keras.callbacks.TensorBoard):
    """`TensorBoard` that also logs the optimizer's learning rate at every epoch's end.

    Keras logs the rate only when it follows a schedule; this logs the rate of the last update
    (a schedule's value at that step) either way, as ``learning_rate``. The shared logs are left
    untouched, so the metrics file does not depend on whether TensorBoard is on.
    """

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        logs["learning_rate"] = float(keras.backend.get_value(self.model.optimizer.learning_rate))
        super().on_epoch_end(epoch, logs)


def run_experiment(experiment: Experiment, config: TrainingConfig | None = None) -> dict:
    """Trains, selects the epoch, evaluates, exports and reports one experiment.

    Args:
        experiment: an `Experiment` (e.g. `tfrec.training.HeldOutUsersExperiment`).
        config: `TrainingConfig`; None fields take the experiment's defaults.

    Returns:
        The metrics dict written to ``config.metrics_out``: ``model``, ``dataset``, ``test``,
        ``validation`` (the chosen epoch's), ``validation_curve`` (each logged metric per
        epoch, ``loss`` included), ``best_epoch`` (1-based), ``epochs_run``, ``train_seconds``
        (of the whole run: for a run resumed with ``checkpoint_dir``, earlier processes' time in
        `fit` up to their last finished epoch is added; only this process's if the checkpoint
        came from a tfrec that did not record it), ``train_processes`` (how many processes
        trained: 1 without resume, None if unknown as above), ``machine`` (the fp32
        matmul rate in GFLOP/s and the load average ``before`` and ``after`` training, from
        `tfrec.utils.machine.machine_snapshot`),
        ``arguments`` (the config), ``export`` (path or None), the distribute context, and the
        experiment's own entries. Non-chief workers return ``{"rank": ...}`` only.

    Raises:
        ConfigError: (a `ValueError`) for a bad config value, an unwritable output path or
            a distribute kind the experiment lacks (before any data is read).
        DataError: (a `ValueError`) from the experiment's readers, for a bad input file.
        TrainingDiverged: if the loss became NaN or infinite, or the chosen epoch's validation
            metric is not finite; then no metrics file and no export are written.
    """
    from tfrec.distribute import make_context

    config = dataclasses.replace(config or TrainingConfig())
    config.validate(partial=True)  # what the caller gave, before any data is read
    if config.distribute != "none" and not experiment.supports_distribute:
        raise ConfigError(f"{experiment.name} does not support distribute={config.distribute!r}.")
    for path, what in (
        (config.metrics_out, "metrics_out"),
        (config.export_dir if config.export else None, "export_dir folder"),
        (config.checkpoint_dir, "checkpoint_dir folder"),
        (config.tensorboard_dir, "tensorboard_dir folder"),
    ):
        if path:
            check_writable(path, what)
    if config.export and config.export_dir:
        from tfrec.export.saved_model import check_export_base

        try:
            check_export_base(config.export_dir)  # a version folder would nest a SavedModel
        except ValueError as error:
            raise ConfigError(f"export_dir: {error}") from None
    # The distribute context first: MultiWorkerMirroredStrategy must exist before any TF op.
    context = make_context(config.distribute, threads=config.threads_per_worker)
    set_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    experiment.load(context, config.seed)
    config = config.with_defaults(experiment.default_config())
    config.validate()
    assert config.batch_size is not None and config.epochs is not None

    local_batch = local_batch_size(config.batch_size, context)
    steps_per_epoch = experiment.steps_per_epoch(context, local_batch)
    with context.scope():
        model = experiment.build_model(config, steps_per_epoch)
    # The rate the machine delivers, beside the duration (a shared CPU's varies run to run).
    machine = {"before": machine_snapshot()} if context.is_chief else {}
    started = time.perf_counter()
    fitted = _FitResult([], None, 0.0, 1)
    if experiment.closed_form:
        experiment.fit_closed_form(model)
    else:
        fitted = _fit(experiment, config, context, model, local_batch, steps_per_epoch)
    epoch_logs, best_epoch = fitted.epoch_logs, fitted.best_epoch
    train_seconds = time.perf_counter() - started
    if fitted.earlier_seconds is not None:
        train_seconds += fitted.earlier_seconds  # a resumed run: the whole run's time
    if context.kind != "none":
        # Every worker takes part in the copy; then evaluation and export are the chief's.
        model = context.chief_model(model, experiment.example_input())
    if not context.is_chief:
        return {"rank": context.rank, "train_seconds": train_seconds}

    machine["after"] = machine_snapshot()
    resumed = f" in {fitted.processes} processes" if (fitted.processes or 1) > 1 else ""
    print(
        f"Trained in {train_seconds:.1f} s{resumed}; before: "
        f"{describe_snapshot(machine['before'])}; after: {describe_snapshot(machine['after'])}."
    )
    experiment.verbose = config.verbose
    test = experiment.test_metrics(model)
    validation = experiment.validation_metrics(model)
    if not experiment.closed_form and not math.isfinite(validation[experiment.monitor]):
        raise TrainingDiverged(
            f"The restored epoch's validation {experiment.monitor} is "
            f"{validation[experiment.monitor]}; lower the learning rate (now "
            f"{config.learning_rate})."
        )
    experiment.print_test_metrics(test)
    curve: dict[str, list] = {}
    for entry in epoch_logs:
        for name in entry:
            curve.setdefault(name, [])
    for name in curve:
        curve[name] = [entry.get(name) for entry in epoch_logs]
    payload = {
        "model": experiment.name,
        "dataset": experiment.dataset,
        "test": test,
        "validation": validation,
        "validation_curve": curve,
        "best_epoch": best_epoch,
        "epochs_run": len(epoch_logs),
        "train_seconds": round(train_seconds, 1),
        "train_processes": fitted.processes,
        "machine": machine,
        **context.describe(),
        **experiment.describe(),
        "arguments": dataclasses.asdict(config),
        "export": None,
    }
    if config.export:
        payload["export"] = str(export(experiment, model, config))
        print(f"SavedModel written to {payload['export']}")
    if config.metrics_out:
        write_metrics(config.metrics_out, payload)
        print(f"Metrics written to {config.metrics_out}")
    if config.checkpoint_dir:
        # The run is complete: a rerun with the same folder starts afresh.
        shutil.rmtree(_worker_checkpoint_dir(config.checkpoint_dir, context), ignore_errors=True)
    return payload


def export(experiment: Experiment, model, config: TrainingConfig) -> pathlib.Path:
    """Exports the experiment's serving module as the next version under the export folder."""
    from tfrec.export import export_saved_model

    export_dir = config.export_dir or str(
        pathlib.Path("saved_models") / experiment.name.replace("-", "_")
    )
    serving = experiment.serving(model)
    metadata = {
        "model": experiment.name,
        "dataset": experiment.dataset,
        "protocol": experiment.protocol,
        "seed": config.seed,  # seeds the split that `tfrec evaluate` rebuilds
        "protocol_settings": experiment.protocol_settings(),
        **serving.metadata(),
    }
    return export_saved_model(
        serving,
        export_dir,
        signatures=serving.signatures(),
        warmup_requests=serving.warmup_requests(),
        metadata=metadata,
    )


def _worker_checkpoint_dir(checkpoint_dir, context) -> pathlib.Path:
    # Horovod ranks are independent processes: each keeps its own state. (Multi-worker
    # BackupAndRestore coordinates its workers itself, in one folder.)
    folder = pathlib.Path(checkpoint_dir)
    return folder / f"rank-{context.rank}" if context.kind == "horovod" else folder


@dataclasses.dataclass
class _FitResult:
    """What `_fit` returns: every epoch's logs, the 1-based chosen epoch and, for a run resumed
    with a checkpoint folder, the seconds earlier processes trained and how many processes
    trained in all (None: a checkpoint from a tfrec that did not record them)."""

    epoch_logs: list
    best_epoch: int | None
    earlier_seconds: float | None
    processes: int | None


def _fit(experiment, config, context, model, local_batch, steps_per_epoch) -> _FitResult:
    """Compiles and fits; returns a `_FitResult`."""
    from tfrec.training.resumable_early_stopping import ResumableEarlyStopping
    from tfrec.training.validation_callback import ValidationCallback

    learning_rate = learning_rate_schedule(
        config, steps_per_epoch, experiment.learning_rate_decay(config, steps_per_epoch)
    )
    with context.scope():
        model.compile(
            optimizer=context.wrap_optimizer(experiment.make_optimizer(learning_rate, config)),
            steps_per_execution=config.steps_per_execution,
            jit_compile=config.jit_compile,
        )
    context.prepare_model(model)
    verbose = config.verbose if context.is_chief else 0
    patience = config.patience or config.epochs
    checkpoint_dir = (
        _worker_checkpoint_dir(config.checkpoint_dir, context) if config.checkpoint_dir else None
    )
    if checkpoint_dir is not None:
        early_stopping = ResumableEarlyStopping(
            checkpoint_dir / "early_stopping",
            monitor="val_" + experiment.monitor,
            mode=experiment.monitor_mode,
            patience=patience,
            verbose=1 if verbose else 0,
        )
    else:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_" + experiment.monitor,
            mode=experiment.monitor_mode,
            patience=patience,
            restore_best_weights=True,
            verbose=1 if verbose else 0,
        )
    nan_stop = _TerminateOnNaNRecorded()
    # Horovod's broadcast and metric averaging come first, so early stopping sees averaged logs.
    callbacks = context.callbacks() + [
        ValidationCallback(experiment.validation_metrics),
        early_stopping,
        nan_stop,
    ]
    if config.tensorboard_dir and context.is_chief:
        # After the validation callback, so that the val_ metrics are in the logs it writes.
        callbacks.append(_TensorBoard(config.tensorboard_dir, profile_batch=config.profile_batch))
    if checkpoint_dir is not None:
        callbacks.append(
            keras.callbacks.BackupAndRestore(
                str(checkpoint_dir / "backup"), delete_checkpoint=False
            )
        )
        state_file = early_stopping.state_path
        if state_file.is_file() and json.loads(state_file.read_text()).get("finished"):
            # Training ended before the kill (in evaluation or export): only restore its result.
            early_stopping.set_model(model)
            early_stopping.load_state()
            model.set_weights(early_stopping.best_weights)
            if verbose:
                print(f"Training already finished in {checkpoint_dir}; best weights restored.")
            return _FitResult(
                early_stopping.epoch_logs,
                early_stopping.best_epoch + 1,
                early_stopping.earlier_seconds,
                early_stopping.earlier_processes,
            )
    train = experiment.training_data(context, local_batch, steps_per_epoch, config.seed)
    history = model.fit(**train, epochs=config.epochs, callbacks=callbacks, verbose=verbose)
    # Collective: every worker raises, or none does (a worker alone would leave the rest waiting).
    if not context.all_ok(nan_stop.stopped_at is None):
        where = (
            f"became {nan_stop.loss} in epoch {nan_stop.stopped_at + 1}"
            if nan_stop.stopped_at is not None
            else "became NaN or infinite on another worker"
        )
        raise TrainingDiverged(
            f"The training loss {where}; lower the learning rate (now {config.learning_rate})."
        )
    earlier_seconds: float | None = 0.0
    processes: int | None = 1
    if isinstance(early_stopping, ResumableEarlyStopping):
        epoch_logs = early_stopping.epoch_logs
        earlier_seconds = early_stopping.earlier_seconds
        if early_stopping.earlier_processes is None:
            processes = None
        else:
            processes = early_stopping.earlier_processes + 1
    else:
        epoch_logs = [
            {name: float(values[epoch]) for name, values in history.history.items()}
            for epoch in range(len(history.epoch))
        ]
    best_epoch = early_stopping.best_epoch + 1 if epoch_logs else None
    if best_epoch is not None:
        loss = epoch_logs[best_epoch - 1].get("loss", 0.0)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"The chosen epoch {best_epoch} has a training loss of {loss}; lower the "
                f"learning rate (now {config.learning_rate})."
            )
    return _FitResult(epoch_logs, best_epoch, earlier_seconds, processes)
