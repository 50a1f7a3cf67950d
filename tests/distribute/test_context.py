"""Single-process checks of tfrec.distribute: context API, TF_CONFIG parsing, CLI options,
Horovod's Keras-backend patch (size-1 Horovod, no launcher) and the installer's patch step."""

import importlib.util
import json
import os

from tfrec.distribute import DistributedContext, make_context
from tfrec.distribute.multi_worker_context import parse_tf_config
from tfrec.schedules import LinearScalingWarmup
from tfrec.training import TrainingConfig
from tfrec.training.experiment import learning_rate_schedule, local_batch_size

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tests.distribute import launch
from tests.helpers import REPO_ROOT


def test_single_process_context():
    context = make_context("none")
    assert (context.rank, context.world_size, context.is_chief) == (0, 1, True)
    assert context.callbacks() == []
    optimizer = keras.optimizers.SGD(0.1)
    assert context.wrap_optimizer(optimizer) is optimizer
    assert context.global_batch_size(250) == 250
    assert context.all_ok(True) and not context.all_ok(False)


def test_steps_per_epoch_matches_the_pipeline_split():
    context = DistributedContext()
    context.world_size = 2
    # 101 users over 2 workers: 50 each (one dropped), batches of 16 -> 4 per worker.
    assert context.steps_per_epoch(101, 16) == 4
    from tfrec.data.pipeline import sparse_user_batches

    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.eye(101, 7, dtype=np.float32))
    for shard in range(2):
        batches = list(sparse_user_batches(matrix, 16, num_shards=2, shard_index=shard))
        assert len(batches) == 4


def test_fit_data_repeats_and_needs_steps():
    context = make_context("none")
    data = context.fit_data(lambda n, i: tf.data.Dataset.range(3).batch(2), 2)
    assert data["steps_per_epoch"] == 2
    assert [b.numpy().tolist() for b in data["x"].take(3)] == [[0, 1], [2], [0, 1]]
    with pytest.raises(ValueError, match="steps_per_epoch"):
        context.fit_data(lambda n, i: tf.data.Dataset.range(3), 0)


def test_unknown_kind_and_missing_tf_config_raise(monkeypatch):
    with pytest.raises(ValueError, match="distribute must be one of"):
        make_context("mpi")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_context("multiworker")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"cluster": {}, "task": {"type": "worker", "index": 0}}), "names no"),
        (
            json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}),
            "not a member",
        ),
    ],
)
def test_bad_tf_config_raises(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_tf_config(raw)


def test_good_tf_config_parses():
    raw = json.dumps(
        {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    )
    assert parse_tf_config(raw)["task"]["index"] == 1


def test_batch_split_and_schedule():
    context = DistributedContext()
    context.world_size = 4
    assert local_batch_size(2000, context) == 500
    with pytest.raises(ValueError, match="divisible by the world size 4"):
        local_batch_size(1001, context)
    config = TrainingConfig(learning_rate=1e-3, batch_size=500)
    assert learning_rate_schedule(config, 10) == 1e-3
    config = TrainingConfig(
        batch_size=2000, base_batch_size=500, learning_rate=1e-3, warmup_epochs=2
    )
    schedule = learning_rate_schedule(config, steps_per_epoch=5)
    assert isinstance(schedule, LinearScalingWarmup)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(10)) == pytest.approx(4e-3)
    config.lr_scaling = "sqrt"
    assert float(learning_rate_schedule(config, 5)(10)) == pytest.approx(2e-3)


def _installer():
    """tools/install_horovod.py, a build script outside the package, loaded by path."""
    spec = importlib.util.spec_from_file_location(
        "install_horovod", REPO_ROOT / "tools" / "install_horovod.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installer_removes_only_the_xla_line(tmp_path):
    patch_cmakelists = _installer().patch_cmakelists
    cmake = tmp_path / "horovod" / "tensorflow" / "CMakeLists.txt"
    cmake.parent.mkdir(parents=True)
    lines = [
        'list(APPEND TF_SOURCES "${PROJECT_SOURCE_DIR}/horovod/tensorflow/mpi_ops.cc")\n',
        'list(APPEND TF_SOURCES "${PROJECT_SOURCE_DIR}/horovod/tensorflow/xla_mpi_ops.cc")\n',
        "add_library(x)\n",
    ]
    cmake.write_text("".join(lines))
    assert patch_cmakelists(str(tmp_path)) == 1
    assert cmake.read_text() == lines[0] + lines[2]
    assert patch_cmakelists(str(tmp_path)) == 0


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI is required to have Horovod")
def test_ci_has_horovod_so_the_two_process_tests_run():
    """CI installs the Horovod extra; if the build broke, the Horovod tests would all skip and
    the suite would still pass. This makes that a failure in CI."""
    assert launch.horovodrun_path() is not None, (
        "CI=true but horovod.tensorflow.keras does not import: the Horovod extra did not build "
        "(python tools/install_horovod.py)"
    )


@launch.requires_horovod
def test_horovod_callbacks_use_tf_keras_backend_in_a_size_one_job():
    """MetricAverageCallback crashes with Horovod's own `from keras import backend` on Keras 3;
    tfrec points it at tf_keras.backend. A size-1 Horovod job needs no launcher."""
    code = """
import tfrec
import numpy as np
import tf_keras as keras
from tfrec.distribute import make_context
context = make_context("horovod")
import horovod.tensorflow.keras.callbacks as hvd_callbacks
assert hvd_callbacks.K is keras.backend
model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
model.compile(context.wrap_optimizer(keras.optimizers.SGD(0.1)), "mse", metrics=["mae"])
history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, callbacks=context.callbacks(),
                    verbose=0)
print("OK", context.rank, context.world_size, type(model.optimizer).__name__,
      hasattr(model.optimizer, "_allreduce"), np.isfinite(history.history["mae"]).all(),
      context.all_ok(True), context.all_ok(False))
"""
    result = launch.run_single(["-c", code], timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK 0 1 SGD True True True False" in result.stdout
