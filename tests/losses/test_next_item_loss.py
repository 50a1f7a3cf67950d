from tfrec.losses.next_item_loss import labelled_states, mean_next_item_cross_entropy

import numpy as np
import tensorflow as tf


def test_labelled_states_keeps_labelled_positions_in_order():
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    labels = np.array([[0, 4, 1], [0, 0, 7]])
    states, targets = labelled_states(tf.constant(hidden, tf.float16), labels)
    assert states.dtype == tf.float32
    np.testing.assert_array_equal(states.numpy(), [hidden[0, 1], hidden[0, 2], hidden[1, 2]])
    # Targets index the real items: item 1 is row 0 once the padding row is dropped.
    np.testing.assert_array_equal(targets.numpy(), [3, 0, 6])


def test_mean_cross_entropy_matches_numpy_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 9)).astype(np.float32)
    targets = np.array([0, 3, 8, 2, 2])
    log_softmax = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(5), targets].mean()
    loss = mean_next_item_cross_entropy(logits, logits[np.arange(5), targets])
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)


def test_mean_cross_entropy_of_no_positions_is_zero():
    loss = mean_next_item_cross_entropy(tf.zeros((0, 9)), tf.zeros((0,)))
    assert loss.numpy() == 0.0
