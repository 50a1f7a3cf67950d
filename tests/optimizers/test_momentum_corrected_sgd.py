from tfrec.optimizers import MomentumCorrectedSGD
from tfrec.schedules import LinearScalingWarmup

import numpy as np
import pytest
import tf_keras as keras

# Quadratic loss 0.5 * ||A w - y||^2 (summed), gradient A^T (A w - y): a tiny exact problem.
A = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])
Y = np.array([1.0, -2.0, 0.5])


def _rates(steps):
    schedule = LinearScalingWarmup(0.01, 1, 4, warmup_steps=4)
    return [float(schedule(t)) for t in range(steps)], schedule


def _numpy_eq9(rates, momentum):
    """Goyal Eq. 9: u <- m u + g; w <- w - lr u."""
    w, u = np.zeros(2), np.zeros(2)
    for lr in rates:
        g = A.T @ (A @ w - Y)
        u = momentum * u + g
        w = w - lr * u
    return w


def _numpy_eq10(rates, momentum):
    """Goyal Eq. 10 (tf_keras SGD): v <- m v - lr g; w <- w + v."""
    w, v = np.zeros(2), np.zeros(2)
    for lr in rates:
        g = A.T @ (A @ w - Y)
        v = momentum * v - lr * g
        w = w + v
    return w


def _train(optimizer, steps):
    model = keras.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.build((None, 2))

    def loss(y_true, y_pred):
        return 0.5 * keras.backend.sum(keras.backend.square(y_true - y_pred))

    model.compile(optimizer, loss)
    x, y = A.astype(np.float32), Y.reshape(-1, 1).astype(np.float32)
    # One full batch per step; the "sum" loss is divided by nothing else under fit's mean
    # reduction of a scalar.
    model.fit(x, y, batch_size=len(x), epochs=steps, verbose=0, shuffle=False)
    return model.get_weights()[0][:, 0]


def test_corrected_sgd_follows_eq9_under_warmup():
    rates, schedule = _rates(8)
    got = _train(MomentumCorrectedSGD(schedule, momentum=0.9), 8)
    np.testing.assert_allclose(got, _numpy_eq9(rates, 0.9), rtol=1e-4, atol=1e-6)


def test_tf_keras_sgd_is_eq10_and_needs_the_correction():
    """Documents why MomentumCorrectedSGD exists: plain SGD differs from Eq. 9 during warmup."""
    rates, schedule = _rates(8)
    got = _train(keras.optimizers.SGD(schedule, momentum=0.9), 8)
    np.testing.assert_allclose(got, _numpy_eq10(rates, 0.9), rtol=1e-4, atol=1e-6)
    gap = np.abs(_numpy_eq10(rates, 0.9) - _numpy_eq9(rates, 0.9)).max()
    assert gap > 1e-2
    assert np.abs(got - _numpy_eq9(rates, 0.9)).max() > 1e-2


def test_constant_rate_makes_both_forms_equal():
    got_plain = _train(keras.optimizers.SGD(0.02, momentum=0.5), 5)
    got_corrected = _train(MomentumCorrectedSGD(0.02, momentum=0.5), 5)
    np.testing.assert_allclose(got_plain, got_corrected, rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_nesterov_rejected():
    optimizer = MomentumCorrectedSGD(0.1, momentum=0.8)
    restored = MomentumCorrectedSGD.from_config(optimizer.get_config())
    assert restored.momentum == pytest.approx(0.8)
    with pytest.raises(ValueError, match="nesterov"):
        MomentumCorrectedSGD(0.1, momentum=0.9, nesterov=True)
