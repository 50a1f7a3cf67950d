from tfrec.models.fmrlrec import FMRLRec

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tests.helpers import (
    assert_float32_outputs_under_mixed_precision,
    assert_gradients_close,
    assert_keras_serialization_round_trip,
    assert_label_less_batch_gives_zero_loss,
)

NUM_ITEMS = 30
SIZES = [4, 8, 16]


def _features(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(NUM_ITEMS, 12)).astype(np.float32), rng.random((NUM_ITEMS, 5)).astype(
        np.float32
    )


def _model(sizes=SIZES, **kwargs):
    text, image = _features()
    kwargs.setdefault("item_text_features", text)
    kwargs.setdefault("item_image_features", image)
    kwargs.setdefault("item_id_embedding_dim", 3)
    kwargs.setdefault("dropout", 0.0)
    kwargs.setdefault("r_min", 0.5)
    kwargs.setdefault("r_max", 0.9)
    return FMRLRec(NUM_ITEMS, sizes, num_blocks=2, feed_forward_multiplier=2, **kwargs)


def _histories(seed=1, batch=5, max_len=7):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, NUM_ITEMS + 1, size=(batch, max_len))
    for row, length in enumerate(rng.integers(1, max_len + 1, size=batch)):
        x[row, : max_len - length] = 0  # left padding
    return x.astype(np.int64)


def test_size_m_slice_equals_separately_built_size_m_model():
    x = _histories()
    big = _model()
    scores = big(x).numpy()
    for k, size in enumerate(SIZES[:-1]):
        small = _model(SIZES[: k + 1])
        small(x)
        for target, source in zip(small.weights, big.weights):
            target.assign(source.numpy()[tuple(slice(0, n) for n in target.shape)])
        np.testing.assert_allclose(small(x).numpy()[:, -1], scores[:, k], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            big.sliced(size)(x).numpy()[:, -1], scores[:, k], rtol=1e-4, atol=1e-4
        )


def test_scores_are_prefix_dot_products_with_tied_item_matrix():
    x = _histories()
    model = _model()
    scores = model(x).numpy()
    items = model.item_representations().numpy()
    hidden = model.encode(x).numpy()[:, -1]
    for k, size in enumerate(SIZES):
        want = hidden[:, :size] @ items[:, :size].T
        want[:, 0] = -1e9
        np.testing.assert_allclose(scores[:, k], want, rtol=1e-4, atol=1e-3)


def test_last_position_only_encoding_equals_the_full_encodings_last_position():
    x = _histories(batch=6)
    x[0] = 0  # an empty history: the last position is padding too
    model = _model(dropout=0.3)
    full = model.encode(x, training=False).numpy()
    last = model.encode(x, training=False, last_only=True).numpy()
    assert last.shape == (len(x), 1, SIZES[-1])
    np.testing.assert_allclose(last, full[:, -1:], rtol=1e-5, atol=1e-5)
    assert np.any(full[:, :-1] != 0)  # the earlier positions were computed, and differ


def test_extra_left_padding_changes_nothing():
    x = _histories(max_len=6)
    model = _model()
    longer = np.concatenate([np.zeros((len(x), 5), np.int64), x], axis=1)
    np.testing.assert_allclose(model(x).numpy(), model(longer).numpy(), rtol=1e-5, atol=1e-4)


def test_loss_is_softmax_cross_entropy_averaged_over_sizes_and_gradients_finite():
    x = _histories()
    labels = np.where(x > 0, np.roll(x, -1, axis=1), 0)
    labels[:, -1] = 7
    model = _model()
    with tf.GradientTape() as tape:
        loss = model.nested_loss(x, labels, training=True)
    gradients = tape.gradient(loss, model.trainable_variables)
    assert loss.dtype == tf.float32
    assert all(
        g is not None and np.all(np.isfinite(tf.convert_to_tensor(g).numpy())) for g in gradients
    )
    items = model.item_representations().numpy().astype(np.float64)
    hidden = model.encode(x).numpy().astype(np.float64)
    losses = []
    for size in SIZES:
        for b, t in zip(*np.nonzero(labels)):
            logits = hidden[b, t, :size] @ items[:, :size].T
            logits[0] = -1e9
            logits -= logits.max()
            losses.append(np.log(np.exp(logits).sum()) - logits[labels[b, t]])
    np.testing.assert_allclose(loss.numpy(), np.mean(losses), rtol=1e-4)


def test_batch_without_labels_gives_zero_loss_and_zero_gradients():
    model = _model()
    assert_label_less_batch_gives_zero_loss(model, model.nested_loss, _histories())


def test_fit_lowers_loss_and_frozen_features_stay_fixed():
    rng = np.random.default_rng(2)
    x = np.tile(np.arange(1, 9), (16, 1)) + rng.integers(0, 3, size=(16, 1))
    labels = x + 1
    model = _model(dropout=0.1)
    text_before = model.item_text_table.numpy().copy()
    model.compile(optimizer=keras.optimizers.AdamW(1e-2))
    history = model.fit(x, labels, batch_size=8, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.5
    np.testing.assert_array_equal(model.item_text_table.numpy(), text_before)
    assert model.item_text_table not in model.trainable_variables


def test_id_only_baseline_is_the_same_class_without_features():
    model = FMRLRec(NUM_ITEMS, [4, 8], item_id_embedding_dim=8)
    assert model(_histories()).shape == (5, 2, NUM_ITEMS + 1)
    assert model.item_text_table is None and model.item_image_table is None
    with pytest.raises(ValueError, match="needs item text"):
        FMRLRec(NUM_ITEMS, [4, 8])
    with pytest.raises(ValueError, match="item_text_features"):
        FMRLRec(NUM_ITEMS, [4, 8], item_text_features=np.zeros((NUM_ITEMS + 1, 3)))


def test_serialization_round_trip(tmp_path):
    model = _model()
    reloaded = assert_keras_serialization_round_trip(model, _histories(), tmp_path, atol=1e-5)
    np.testing.assert_array_equal(reloaded.item_image_table.numpy(), model.item_image_table.numpy())


def test_float32_scores_and_loss_under_mixed_precision():
    x = _histories()
    model = assert_float32_outputs_under_mixed_precision(_model, x)
    labels = np.where(x > 0, 3, 0)
    assert model.nested_loss(x, labels).dtype == tf.float32


def test_loss_gradients_equal_tensorflows_softmax_cross_entropy():
    # nested_loss writes the cross-entropy as logsumexp - target logit (faster on CPU); its
    # gradients must be those of tf.nn.sparse_softmax_cross_entropy_with_logits on the same
    # per-size logits, to float32 rounding.
    x = _histories(batch=6)
    labels = np.where(x > 0, np.roll(x, -1, axis=1), 0)
    labels[:, -1] = 3
    model = _model()
    model(x)
    with tf.GradientTape(persistent=True) as tape:
        loss = model.nested_loss(x, labels, training=False)
        items = model.item_representations()
        positions = tf.where(labels > 0)
        hidden = tf.gather_nd(model.encode(x, items, training=False), positions)
        targets = tf.gather_nd(labels, positions) - 1
        reference = tf.add_n(
            [
                tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(
                        targets, tf.matmul(hidden[:, :size], items[1:, :size], transpose_b=True)
                    )
                )
                for size in SIZES
            ]
        ) / len(SIZES)
    np.testing.assert_allclose(loss.numpy(), reference.numpy(), rtol=1e-6)
    gradients = tape.gradient(loss, model.trainable_variables)
    expected = tape.gradient(reference, model.trainable_variables)
    assert_gradients_close(model.trainable_variables, gradients, expected)
