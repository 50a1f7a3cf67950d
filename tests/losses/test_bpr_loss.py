from tfrec.losses.bpr_loss import BPRLoss, bpr_loss

import numpy as np
import tensorflow as tf


def _reference(x):
    # -ln sigmoid(x) in float64, the textbook form.
    return -np.log(1.0 / (1.0 + np.exp(-np.asarray(x, np.float64))))


def test_values_match_minus_log_sigmoid():
    x = np.array([-3.0, -0.5, 0.0, 0.7, 4.0], np.float32)
    np.testing.assert_allclose(bpr_loss(x).numpy(), _reference(x), rtol=1e-6)


def test_stable_for_large_differences():
    x = tf.constant([-1000.0, 1000.0], tf.float32)
    values = bpr_loss(x).numpy()
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, [1000.0, 0.0], atol=1e-6)


def test_gradient_is_minus_sigmoid_of_minus_x():
    x = tf.Variable([-2.0, 0.0, 1.5, -1000.0], dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(bpr_loss(x))
    grad = tape.gradient(loss, x).numpy()
    expected = -1.0 / (1.0 + np.exp(np.array([-2.0, 0.0, 1.5, -1000.0], np.float64)))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)


def test_gradient_through_scores_on_tiny_case():
    # One triple, x_uij = gamma_u . (gamma_i - gamma_j); dL/dgamma_u = -sigmoid(-x) (g_i - g_j).
    user = tf.Variable([0.5, -1.0])
    item_i, item_j = np.array([1.0, 2.0]), np.array([0.0, 1.0])
    with tf.GradientTape() as tape:
        x = tf.reduce_sum(user * (item_i - item_j))
        loss = BPRLoss()(tf.zeros([1]), tf.reshape(x, [1]))
    x_value = 0.5 * 1.0 + (-1.0) * 1.0
    np.testing.assert_allclose(loss.numpy(), _reference(x_value), rtol=1e-6)
    expected = -(1.0 / (1.0 + np.exp(x_value))) * (item_i - item_j)
    np.testing.assert_allclose(tape.gradient(loss, user).numpy(), expected, rtol=1e-6)


def test_keras_loss_is_mean_and_float32_for_float16_inputs():
    x = tf.constant([0.0, 2.0], tf.float16)
    value = BPRLoss()(tf.zeros([2]), x)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(value.numpy(), _reference([0.0, 2.0]).mean(), rtol=1e-3)
    config = BPRLoss(name="b").get_config()
    assert BPRLoss.from_config(config).name == "b"
