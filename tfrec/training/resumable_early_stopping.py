"""`EarlyStopping` whose state survives the process, for runs resumed by `BackupAndRestore`."""

import json
import math
import pathlib
import time

from tfrec.utils.atomic import atomic_output

import numpy as np
import tf_keras as keras

STATE_FILE = "early_stopping.json"
BEST_WEIGHTS_FILE = "best_weights.npz"


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras `EarlyStopping` (best weights restored) that saves its state every epoch.

    `keras.callbacks.BackupAndRestore` brings back the model, the optimizer and the epoch of a
    killed run, but not `EarlyStopping`'s best value, best weights and patience count, so a
    resumed run would forget the best epoch seen before the interruption. This callback writes
    them to `state_dir` at the end of every epoch (atomically: a kill leaves the previous
    epoch's state) together with every epoch's logs and the training time so far, and reloads
    them when training begins.

    Args:
        state_dir: str or path. Folder of the saved state (created if missing).
        monitor: str. The logged metric to watch, e.g. ``"val_ndcg@100"``.
        mode: "max" or "min".
        patience: int. Epochs without improvement before stopping.
        verbose: int. 1 prints when stopping and restoring.

    Attributes:
        epoch_logs: list of dicts, the logs of every epoch run so far (resumed ones included),
            floats only, in epoch order.
        finished: bool. True once training ended without a kill: later runs on the same
            `state_dir` need not train again.
        earlier_seconds: float or None. Seconds that earlier processes on `state_dir` spent in
            `fit`, each up to its last finished epoch (the epoch a kill interrupted is lost
            and not counted); 0.0 for a fresh run, None when the state was saved by a tfrec
            that did not record it.
        earlier_processes: int or None. How many earlier processes trained on `state_dir`
            (None as for `earlier_seconds`).
    """

    def __init__(self, state_dir, monitor: str, mode: str, patience: int, verbose: int = 0):
        super().__init__(
            monitor=monitor,
            mode=mode,
            patience=patience,
            restore_best_weights=True,
            verbose=verbose,
        )
        self.state_dir = pathlib.Path(state_dir)
        self.epoch_logs: list[dict] = []
        self.finished = False
        self.earlier_seconds: float | None = 0.0
        self.earlier_processes: int | None = 0
        self._started = time.perf_counter()

    @property
    def state_path(self) -> pathlib.Path:
        return self.state_dir / STATE_FILE

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.epoch_logs = []
        self.finished = False
        self.earlier_seconds, self.earlier_processes = 0.0, 0
        self._started = time.perf_counter()
        if self.state_path.is_file():
            self.load_state()

    def load_state(self) -> None:
        """Reads best value, best epoch, wait, logs, training time and best weights."""
        state = json.loads(self.state_path.read_text())
        self.best = _from_json_number(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.epoch_logs = [
            {name: _from_json_number(value) for name, value in epoch.items()}
            for epoch in state["epoch_logs"]
        ]
        self.finished = bool(state["finished"])
        seconds, processes = state.get("train_seconds"), state.get("train_processes")
        self.earlier_seconds = None if seconds is None else float(seconds)
        self.earlier_processes = None if processes is None else int(processes)
        weights_path = self.state_dir / BEST_WEIGHTS_FILE
        if weights_path.is_file():
            with np.load(weights_path) as stored:
                self.best_weights = [stored[f"w{i}"] for i in range(len(stored.files))]

    def on_epoch_end(self, epoch, logs=None):
        best_before = self.best_weights
        super().on_epoch_end(epoch, logs)
        entry = {name: float(value) for name, value in (logs or {}).items()}
        # A resumed run repeats the epoch a kill interrupted: its logs replace the old entry.
        del self.epoch_logs[epoch:]
        self.epoch_logs.append(entry)
        self._save(best_weights_changed=self.best_weights is not best_before)

    def on_train_end(self, logs=None):
        self.finished = True
        self._save(best_weights_changed=False)
        super().on_train_end(logs)

    def _save(self, best_weights_changed: bool) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if best_weights_changed and self.best_weights is not None:
            with atomic_output(self.state_dir / BEST_WEIGHTS_FILE) as temporary:
                with open(temporary, "wb") as stream:
                    np.savez(stream, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
        state = {
            "best": _to_json_number(self.best),
            "best_epoch": int(self.best_epoch),
            "wait": int(self.wait),
            "stopped_epoch": int(self.stopped_epoch),
            "finished": self.finished,
            # This process's time in `fit` so far is added to what earlier ones recorded.
            "train_seconds": (
                None
                if self.earlier_seconds is None
                else self.earlier_seconds + time.perf_counter() - self._started
            ),
            "train_processes": (
                None if self.earlier_processes is None else self.earlier_processes + 1
            ),
            "epoch_logs": [
                {name: _to_json_number(value) for name, value in epoch.items()}
                for epoch in self.epoch_logs
            ],
        }
        with atomic_output(self.state_path) as temporary:
            pathlib.Path(temporary).write_text(json.dumps(state, indent=1))


def _to_json_number(value):
    value = float(value)
    return value if math.isfinite(value) else str(value)


def _from_json_number(value):
    return float(value)
