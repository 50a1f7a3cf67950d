import json

from tfrec.export import SequenceServing
from tfrec.metrics.next_item_evaluation import evaluate_next_item
from tfrec.models.lrurec import LRURec
from tfrec.training import LRURecExperiment, TrainingConfig

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tests.helpers import (
    assert_float32_outputs_under_mixed_precision,
    assert_keras_serialization_round_trip,
    assert_label_less_batch_gives_zero_loss,
    run_in_fresh_process,
)

NUM_ITEMS = 30
WIDTH = 8


def _model(**kwargs):
    kwargs.setdefault("dropout", 0.0)
    return LRURec(NUM_ITEMS, width=WIDTH, **kwargs)


def _histories(seed=1, batch=5, max_len=7):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, NUM_ITEMS + 1, size=(batch, max_len))
    for row, length in enumerate(rng.integers(1, max_len + 1, size=batch)):
        x[row, : max_len - length] = 0  # left padding
    return x.astype(np.int64)


def test_scores_are_tied_dot_products_plus_item_bias():
    x = _histories()
    model = _model()
    scores = model(x).numpy()
    assert scores.shape == (len(x), NUM_ITEMS + 1) and scores.dtype == np.float32
    items = model.item_embeddings.numpy()
    hidden = model.encode(x).numpy()[:, -1]
    want = hidden @ items.T + model.item_bias.numpy()
    want[:, 0] = -1e9
    np.testing.assert_allclose(scores, want, rtol=1e-4, atol=1e-4)


def test_architecture_follows_the_reference():
    model = _model()
    model(_histories())
    assert len(model.blocks) == 2
    block = model.blocks[0]
    assert (block.norm_placement, block.feed_forward) == ("post", "gelu")
    assert block.expand.kernel.shape == (WIDTH, 4 * WIDTH)
    assert block.recurrence.nu_log.shape == (2 * WIDTH,) and block.recurrence.skip is None
    modulus = np.hypot(*(t.numpy() for t in block.recurrence.eigenvalues()))
    assert np.all((modulus >= 0.8 - 1e-5) & (modulus <= 0.99 + 1e-5))
    assert (LRURec(5).dropout, LRURec(5).width) == (0.2, 64)
    # Truncated normal (stddev 0.02, cut at two deviations) on all but norms and ring parameters.
    for weight in model.trainable_weights:
        if "_norm/" in weight.name or "_log" in weight.name:
            continue
        values = weight.numpy()
        assert np.all(np.abs(values) <= 0.04), weight.name
        assert np.any(values != 0), weight.name


def test_embedding_dropout_comes_before_the_embedding_norm():
    model = _model(dropout=0.5)
    x = _histories()
    rng = np.random.default_rng(3)
    model.item_embeddings.assign(rng.normal(size=model.item_embeddings.shape).astype(np.float32))
    items = model.item_representations()
    # In training, dropout zeroes features first; the norm then still gives each position
    # zero mean and unit variance (dropout after the norm would not), or zero if all dropped.
    hidden = model.embed(x, items, training=True).numpy()
    np.testing.assert_allclose(hidden.mean(-1), 0.0, atol=1e-5)
    variance = hidden.var(-1)
    assert np.all((np.abs(variance - 1.0) < 1e-3) | (variance == 0.0)), variance
    embedded = items.numpy()[x]
    want = (embedded - embedded.mean(-1, keepdims=True)) / np.sqrt(
        embedded.var(-1, keepdims=True) + 1e-5
    )
    inference = model.embed(x, items, training=False).numpy()
    np.testing.assert_allclose(inference, want, rtol=1e-4, atol=1e-4)
    assert not np.allclose(hidden, inference)


def test_last_position_only_and_extra_left_padding_change_nothing():
    x = _histories(batch=6)
    x[0] = 0  # an empty history
    model = _model(dropout=0.3)
    full = model.encode(x, training=False).numpy()
    last = model.encode(x, training=False, last_only=True).numpy()
    np.testing.assert_allclose(last, full[:, -1:], rtol=1e-5, atol=1e-5)
    longer = np.concatenate([np.zeros((len(x), 5), np.int64), x], axis=1)
    np.testing.assert_allclose(model(x).numpy(), model(longer).numpy(), rtol=1e-5, atol=1e-4)


def test_loss_is_softmax_cross_entropy_over_items_with_bias():
    x = _histories()
    labels = np.where(x > 0, np.roll(x, -1, axis=1), 0)
    labels[:, -1] = 7
    model = _model()
    with tf.GradientTape() as tape:
        loss = model.next_item_loss(x, labels, training=True)
    gradients = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in gradients)
    items = model.item_embeddings.numpy().astype(np.float64)
    bias = model.item_bias.numpy().astype(np.float64)
    hidden = model.encode(x).numpy().astype(np.float64)
    losses = []
    for b, t in zip(*np.nonzero(labels)):
        logits = (hidden[b, t] @ items.T + bias)[1:]
        logits -= logits.max()
        losses.append(np.log(np.exp(logits).sum()) - logits[labels[b, t] - 1])
    np.testing.assert_allclose(loss.numpy(), np.mean(losses), rtol=1e-5)


def test_batch_without_labels_gives_zero_loss_and_zero_gradients():
    model = _model()
    assert_label_less_batch_gives_zero_loss(model, model.next_item_loss, _histories())


def test_fit_lowers_loss():
    rng = np.random.default_rng(2)
    x = np.tile(np.arange(1, 9), (16, 1)) + rng.integers(0, 3, size=(16, 1))
    model = _model(dropout=0.1)
    model.compile(optimizer=keras.optimizers.AdamW(1e-2))
    history = model.fit(x, x + 1, batch_size=8, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.5


def test_serialization_round_trip(tmp_path):
    assert_keras_serialization_round_trip(_model(), _histories(), tmp_path, atol=1e-5)


def test_float32_scores_under_mixed_precision():
    x = _histories()
    model = assert_float32_outputs_under_mixed_precision(_model, x)
    assert model.next_item_loss(x, np.where(x > 0, 3, 0)).dtype == tf.float32


def test_weight_decay_on_weights_only_as_the_reference():
    model = _model()
    model(_histories())
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32) + 3.0)
    before = [w.numpy() for w in model.trainable_weights]
    optimizer = LRURecExperiment(weight_decay=0.5).make_optimizer(0.1, TrainingConfig())
    optimizer.apply_gradients([(tf.zeros_like(w), w) for w in model.trainable_weights])
    decayed = {
        w.name for w, old in zip(model.trainable_weights, before) if not np.allclose(w.numpy(), old)
    }
    # The reference's AdamW groups: no decay on names holding 'bias' or 'layer_norm'.
    assert "item_bias:0" not in decayed and "item_embeddings:0" in decayed
    assert not any("bias" in name or "_norm/" in name for name in decayed)
    assert any("nu_log" in name for name in decayed) and any("kernel" in name for name in decayed)


def test_evaluation_and_serving_of_a_single_size_model(tmp_path):
    model = _model()
    x = _histories(batch=4, max_len=5)
    scores = model(x).numpy()
    targets = np.argsort(-scores[:, 1:], axis=1)[:, 0] + 1  # each user's top item
    histories = [row[row > 0] for row in x]
    metrics = evaluate_next_item(model, histories, targets, 5, 2, mask_history=False)
    assert set(metrics) == {WIDTH}
    assert metrics[WIDTH]["recall@5"] == pytest.approx(1.0)
    assert metrics[WIDTH]["ndcg@5"] == pytest.approx(1.0)

    item_ids = np.arange(501, 501 + NUM_ITEMS)
    serving = SequenceServing(model, item_ids, max_len=5, exclude_history=True)
    assert set(serving.signatures()) == {"serving_default"}
    history = np.where(x > 0, x + 500, 0)
    top = serving.signatures()["serving_default"](history=tf.constant(history), k=tf.constant(4))
    masked = scores.copy()
    for row, items in enumerate(x):
        masked[row, items[items > 0]] = -np.inf
    np.testing.assert_allclose(
        top["top_scores"].numpy(), np.sort(masked[:, 1:], axis=1)[:, ::-1][:, :4], rtol=1e-5
    )
    np.testing.assert_array_equal(
        top["top_ids"].numpy()[:, 0], item_ids[np.argmax(masked[:, 1:], axis=1)]
    )

    # The SavedModel answers the same in a process without tfrec.
    tf.saved_model.save(serving, str(tmp_path / "1"), signatures=serving.signatures())
    np.save(tmp_path / "history.npy", history)
    code = f"""
    import json
    import numpy as np, tensorflow as tf
    loaded = tf.saved_model.load({str(tmp_path / "1")!r})
    history = np.load({str(tmp_path / "history.npy")!r})
    result = loaded.signatures["serving_default"](history=tf.constant(history), k=tf.constant(4))
    print(json.dumps(result["top_scores"].numpy().tolist()))
    """
    served = np.array(json.loads(run_in_fresh_process(code).strip().splitlines()[-1]))
    np.testing.assert_allclose(served, top["top_scores"].numpy(), rtol=1e-5)
