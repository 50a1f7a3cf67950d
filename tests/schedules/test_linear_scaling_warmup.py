import math

from tfrec.schedules import LinearScalingWarmup

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras


def _reference(step, base_lr, base_batch, global_batch, rule, warmup_steps, decay=None):
    """Plain-python Goyal warmup: base -> k*base in `warmup_steps` equal increments."""
    k = global_batch / base_batch
    target = base_lr * {"linear": k, "sqrt": math.sqrt(k), "none": 1.0}[rule]
    if step < warmup_steps:
        return base_lr + (target - base_lr) * step / warmup_steps
    if decay is None:
        return target
    return decay(step - warmup_steps) * target / base_lr


@pytest.mark.parametrize("rule", ["linear", "sqrt", "none"])
def test_values_match_hand_computed_reference(rule):
    schedule = LinearScalingWarmup(0.1, 256, 1024, scaling_rule=rule, warmup_steps=8)
    for step in [0, 1, 3, 7, 8, 9, 100]:
        want = _reference(step, 0.1, 256, 1024, rule, 8)
        assert float(schedule(step)) == pytest.approx(want, rel=1e-6)


def test_known_values_linear_rule():
    # k = 4, target 0.4; increments of (0.4 - 0.1) / 4 = 0.075 per step.
    schedule = LinearScalingWarmup(0.1, 256, 1024, warmup_steps=4)
    got = [float(schedule(s)) for s in range(6)]
    np.testing.assert_allclose(got, [0.1, 0.175, 0.25, 0.325, 0.4, 0.4], rtol=1e-6)


def test_constant_warmup_holds_the_base_rate_then_jumps_to_the_target():
    # Goyal et al. Sec. 2.2: the base rate for the warmup steps, then k times it (k = 4).
    schedule = LinearScalingWarmup(0.1, 256, 1024, warmup_steps=3, warmup="constant")
    got = [float(schedule(s)) for s in range(6)]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.1, 0.4, 0.4, 0.4], rtol=1e-6)
    restored = LinearScalingWarmup.from_config(schedule.get_config())
    assert [float(restored(s)) for s in range(6)] == got


def test_warmup_in_epochs_equals_steps():
    in_epochs = LinearScalingWarmup(1e-3, 500, 2000, warmup_epochs=2.5, steps_per_epoch=4)
    in_steps = LinearScalingWarmup(1e-3, 500, 2000, warmup_steps=10)
    for step in range(14):
        assert float(in_epochs(step)) == pytest.approx(float(in_steps(step)), rel=1e-7)
    assert in_epochs.total_warmup_steps == in_steps.total_warmup_steps == 10
    assert in_epochs.target_learning_rate == pytest.approx(4e-3)


def test_decay_after_warmup_is_scaled_by_the_rule():
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)

    def py_decay(step):
        return 0.1 * 0.5 ** (step / 10)

    schedule = LinearScalingWarmup(0.1, 100, 300, warmup_steps=5, decay=decay)
    for step in [0, 4, 5, 6, 15, 40]:
        want = _reference(step, 0.1, 100, 300, "linear", 5, decay=py_decay)
        assert float(schedule(step)) == pytest.approx(want, rel=1e-5)


def test_no_warmup_gives_target_from_step_zero():
    schedule = LinearScalingWarmup(0.01, 100, 50)
    assert float(schedule(0)) == pytest.approx(0.005)


def test_serialisation_round_trip_with_decay():
    decay = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    schedule = LinearScalingWarmup(
        0.1, 100, 400, "sqrt", warmup_epochs=1, steps_per_epoch=3, decay=decay
    )
    config = keras.optimizers.schedules.serialize(schedule)
    restored = keras.optimizers.schedules.deserialize(config)
    assert isinstance(restored, LinearScalingWarmup)
    assert restored.get_config() == schedule.get_config()
    for step in [0, 1, 2, 3, 12, 20]:
        assert float(restored(step)) == pytest.approx(float(schedule(step)))


def test_optimizer_with_schedule_saves_and_reloads(tmp_path):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    schedule = LinearScalingWarmup(0.05, 32, 64, warmup_steps=3)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    model.fit(np.ones((8, 3), np.float32), np.ones((8, 1), np.float32), epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    saved = reloaded.optimizer.get_config()["learning_rate"]
    restored = keras.optimizers.schedules.deserialize(saved)
    assert isinstance(restored, LinearScalingWarmup)
    assert restored.get_config() == schedule.get_config()


def test_works_inside_tf_function():
    schedule = LinearScalingWarmup(0.1, 1, 2, warmup_steps=2)
    values = tf.function(lambda s: schedule(s))(tf.constant(1, tf.int64))
    assert float(values) == pytest.approx(0.15)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scaling_rule": "cubic"}, "scaling_rule"),
        ({"warmup_steps": 2, "warmup_epochs": 1}, "not both"),
        ({"warmup_epochs": 1}, "steps_per_epoch"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup": "cosine"}, "warmup must be one of"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LinearScalingWarmup(0.1, 10, 20, **kwargs)


def test_bad_batch_and_rate_raise():
    with pytest.raises(ValueError, match="global_batch_size"):
        LinearScalingWarmup(0.1, 10, 0)
    with pytest.raises(ValueError, match="base_learning_rate"):
        LinearScalingWarmup(0.0, 10, 20)
