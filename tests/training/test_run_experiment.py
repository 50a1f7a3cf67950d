"""`run_experiment`: one protocol for every model, resume after a kill, no output on divergence."""

import json
import time

from tfrec.cli.main import main
from tfrec.training import HeldOutUsersExperiment, TrainingConfig, TrainingDiverged, run_experiment

import numpy as np
import pytest

from tests.helpers import write_ml100k_ratings


@pytest.fixture(scope="module")
def tiny_movielens(tmp_path_factory):
    """A made-up ML-100K-format folder: 60 users x 120 items, ratings 4 or 5 (all kept)."""
    folder = tmp_path_factory.mktemp("ml-100k")
    write_ml100k_ratings(
        folder, 60, 120, interactions=(6, 15), ratings=(4, 6), rng=np.random.default_rng(0)
    )
    return folder


class Crash(RuntimeError):
    pass


class CrashingExperiment(HeldOutUsersExperiment):
    """Counts validations and raises `Crash` at a chosen one, as a kill would stop the run."""

    def __init__(self, crash_at_validation=None, crash_in_test=False, sleep=0.0, **kwargs):
        super().__init__(**kwargs)
        self.validations = 0
        self.crash_at_validation = crash_at_validation
        self.crash_in_test = crash_in_test
        self.sleep = sleep

    def validation_metrics(self, model):
        self.validations += 1
        time.sleep(self.sleep)  # a slow epoch, so that its time is seen in train_seconds
        if self.validations == self.crash_at_validation:
            raise Crash(f"killed in validation {self.validations}")
        return super().validation_metrics(model)

    def test_metrics(self, model):
        if self.crash_in_test:
            raise Crash("killed in evaluation")
        return super().test_metrics(model)


def _experiment(folder, **kwargs):
    return CrashingExperiment(
        model="mult-dae",
        dataset="ml-100k",
        data_dir=str(folder),
        validation_users=8,
        test_users=8,
        **kwargs,
    )


def _config(tmp_path, **kwargs):
    values = dict(
        epochs=4, batch_size=16, verbose=0, export=False, metrics_out=str(tmp_path / "m.json")
    )
    values.update(kwargs)
    return TrainingConfig(**values)


def test_python_api_writes_the_common_schema(tiny_movielens, tmp_path, capsys):
    payload = run_experiment(_experiment(tiny_movielens), _config(tmp_path))
    written = json.loads((tmp_path / "m.json").read_text())
    # The printed line quotes the recorded time and machine.
    before, after = written["machine"]["before"], written["machine"]["after"]
    assert (
        f"Trained in {written['train_seconds']:.1f} s; "
        f"before: fp32 matmul {before['fp32_matmul_gflops']} GFLOP/s, "
        f"load average {before['load_average']}; "
        f"after: fp32 matmul {after['fp32_matmul_gflops']} GFLOP/s, "
        f"load average {after['load_average']}."
    ) in capsys.readouterr().out
    assert set(written) >= {
        "model", "dataset", "test", "validation", "validation_curve", "best_epoch",
        "epochs_run", "train_seconds", "train_processes", "machine", "arguments", "export",
    }  # fmt: skip
    assert written["train_processes"] == 1
    # The machine's measured rate and load sit beside the duration, before and after training.
    for when in ("before", "after"):
        assert written["machine"][when]["fp32_matmul_gflops"] > 0
        assert set(written["machine"][when]) == {"fp32_matmul_gflops", "load_average"}
    assert written["export"] is None and written["epochs_run"] == 4
    curve = written["validation_curve"]
    assert len(curve["loss"]) == len(curve["val_ndcg@100"]) == 4
    # The chosen epoch is the best of the curve, and its validation figures are reported.
    best = int(np.argmax(curve["val_ndcg@100"]))
    assert written["best_epoch"] == best + 1
    assert written["validation"]["ndcg@100"] == pytest.approx(curve["val_ndcg@100"][best])
    assert payload["test"] == written["test"]


def test_a_killed_run_resumes_from_its_last_epoch(tiny_movielens, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    killed = _experiment(tiny_movielens, crash_at_validation=3)
    with pytest.raises(Crash):
        run_experiment(killed, _config(tmp_path, checkpoint_dir=str(checkpoints)))
    assert not (tmp_path / "m.json").exists()
    state = json.loads((checkpoints / "early_stopping" / "early_stopping.json").read_text())
    assert len(state["epoch_logs"]) == 2  # epochs 1 and 2 finished before the kill

    resumed = _experiment(tiny_movielens)
    payload = run_experiment(resumed, _config(tmp_path, checkpoint_dir=str(checkpoints)))
    # Only epochs 3 and 4 ran again (one validation each), then one for the report.
    assert resumed.validations == 3
    assert payload["epochs_run"] == 4
    assert payload["validation_curve"]["val_ndcg@100"][:2] == [
        epoch["val_ndcg@100"] for epoch in state["epoch_logs"]
    ]
    assert not checkpoints.exists() or not any(checkpoints.iterdir())  # removed after success


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "older-checkpoint"])
def test_a_resumed_run_reports_the_training_time_of_every_process(
    tiny_movielens, tmp_path, recorded
):
    checkpoints = tmp_path / "checkpoints"
    killed = _experiment(tiny_movielens, crash_at_validation=3, sleep=0.3)
    with pytest.raises(Crash):
        run_experiment(killed, _config(tmp_path, checkpoint_dir=str(checkpoints)))
    state_path = checkpoints / "early_stopping" / "early_stopping.json"
    state = json.loads(state_path.read_text())
    assert state["train_processes"] == 1
    assert state["train_seconds"] >= 0.6  # two finished epochs, each validation 0.3 s
    if recorded:
        state["train_seconds"] = 1000.0  # as if the killed process had trained long
    else:
        del state["train_seconds"], state["train_processes"]  # a tfrec that did not record it
    state_path.write_text(json.dumps(state))

    started = time.perf_counter()
    payload = run_experiment(
        _experiment(tiny_movielens), _config(tmp_path, checkpoint_dir=str(checkpoints))
    )
    this_process = time.perf_counter() - started
    if recorded:
        assert payload["train_processes"] == 2
        assert 1000.0 < payload["train_seconds"] <= 1000.0 + this_process
    else:
        assert payload["train_processes"] is None
        assert payload["train_seconds"] <= this_process
    assert json.loads((tmp_path / "m.json").read_text())["train_processes"] == (
        2 if recorded else None
    )


def test_a_run_killed_after_training_does_not_train_again(tiny_movielens, tmp_path):
    reference = run_experiment(_experiment(tiny_movielens), _config(tmp_path / "a"))
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(Crash):
        run_experiment(
            _experiment(tiny_movielens, crash_in_test=True),
            _config(tmp_path / "b", checkpoint_dir=str(checkpoints)),
        )
    resumed = _experiment(tiny_movielens)
    payload = run_experiment(resumed, _config(tmp_path / "b", checkpoint_dir=str(checkpoints)))
    assert resumed.validations == 1  # the report's validation only: no epoch was trained
    assert payload["train_processes"] == 1  # the killed process trained; this one did not
    assert payload["test"] == reference["test"]
    assert payload["best_epoch"] == reference["best_epoch"]


def test_divergence_raises_and_writes_nothing(tiny_movielens, tmp_path):
    import tf_keras as keras

    class Diverging(CrashingExperiment):
        def make_optimizer(self, learning_rate, config):
            return keras.optimizers.SGD(learning_rate=float("inf"))

    export_dir = tmp_path / "export"
    with pytest.raises(TrainingDiverged, match="epoch 1.*learning rate"):
        run_experiment(
            Diverging(model="mult-dae", dataset="ml-100k", data_dir=str(tiny_movielens),
                      validation_users=8, test_users=8),
            _config(tmp_path, export=True, export_dir=str(export_dir)),
        )  # fmt: skip
    assert not (tmp_path / "m.json").exists() and not export_dir.exists()


def test_cli_exits_non_zero_on_divergence(tiny_movielens, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code = main(
        ["train", "mult-vae", "--dataset", "ml-100k", "--data-dir", str(tiny_movielens),
         "--validation-users", "8", "--epochs", "3", "--batch-size", "16", "--verbose", "0",
         "--learning-rate", "1e30", "--metrics-out", str(metrics),
         "--export-dir", str(tmp_path / "export")]
    )  # fmt: skip
    assert code == 1
    assert "diverged" in capsys.readouterr().err
    assert not metrics.exists() and not (tmp_path / "export").exists()


def test_unwritable_output_fails_before_training(tiny_movielens, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    experiment = _experiment(tiny_movielens)
    with pytest.raises(ValueError, match="metrics_out"):
        run_experiment(experiment, _config(tmp_path, metrics_out=str(blocker / "m.json")))
    assert experiment.validations == 0


def test_mult_dae_weight_decay_follows_the_notebook(tiny_movielens):
    """Liang et al.'s notebook: lam = 0.01 / batch_size on a batch-mean loss, and its loss adds
    2 * l2_regularizer(lam) = lam * sum(w^2) over the kernels (not the biases)."""
    from tfrec.distribute import DistributedContext

    import tensorflow as tf

    experiment = _experiment(tiny_movielens)
    experiment.load(DistributedContext(), seed=1)
    for batch_size, lam in ((500, 2e-5), (100, 1e-4)):
        model = experiment.build_model(TrainingConfig(batch_size=batch_size, epochs=1), 1)
        assert model.l2_regularization == pytest.approx(lam)
    model(tf.zeros([1, model.num_items]))
    kernels = [w for w in model.trainable_weights if "kernel" in w.name]
    want = lam * sum(float(tf.reduce_sum(w**2)) for w in kernels)
    assert float(tf.add_n(model.losses)) == pytest.approx(want, rel=1e-5)


def test_bad_config_fails_before_reading_data(tmp_path):
    experiment = HeldOutUsersExperiment("mult-dae", dataset="ml-100k", data_dir=str(tmp_path))
    for field, value in (("learning_rate", -1.0), ("epochs", 0), ("precision", "float8")):
        with pytest.raises(ValueError, match=field):
            run_experiment(experiment, TrainingConfig(**{field: value}))
