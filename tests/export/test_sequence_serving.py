"""`SequenceServing`: the shared unknown-id rule, history exclusion and checked k for fMRLRec."""

from tfrec.export import RecommenderServing, SequenceServing
from tfrec.models.fmrlrec import FMRLRec

import numpy as np
import pytest
import tensorflow as tf

NUM_ITEMS = 12
ITEM_IDS = np.arange(501, 501 + NUM_ITEMS)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(7)
    model = FMRLRec(
        NUM_ITEMS,
        [4, 8],
        item_text_features=rng.normal(size=(NUM_ITEMS, 5)).astype(np.float32),
        item_id_embedding_dim=8,
        r_min=0.5,
        r_max=0.9,
    )
    model(np.zeros((1, 5), np.int64))  # build
    return model


def _scores(model, history_indices, position):
    return model(np.asarray(history_indices, np.int64), training=False).numpy()[:, position, 1:]


def test_unknown_ids_are_dropped_and_the_rest_kept_in_order(model):
    serve = SequenceServing(model, ITEM_IDS, max_len=5).signatures()["serving_default"]
    with_unknown = serve(
        history=tf.constant([[0, 503, 99999, 504, 77]], tf.int64), k=tf.constant(4)
    )
    without = serve(history=tf.constant([[0, 0, 0, 503, 504]], tf.int64), k=tf.constant(4))
    np.testing.assert_array_equal(with_unknown["top_ids"], without["top_ids"])
    np.testing.assert_allclose(with_unknown["top_scores"], without["top_scores"], rtol=1e-6)
    # And both are the model's own top-4 for the history [503, 504] (indices 3, 4).
    want = np.argsort(-_scores(model, [[0, 0, 0, 3, 4]], 1), axis=1)[:, :4]
    np.testing.assert_array_equal(without["top_ids"].numpy(), ITEM_IDS[want])


def test_exclude_history_removes_the_history_items(model):
    history = tf.constant([[0, 0, 501, 502, 503]], tf.int64)
    serving = SequenceServing(model, ITEM_IDS, max_len=5, exclude_history=True)
    for name, position in (("serving_size_4", 0), ("serving_size_8", 1)):
        top = serving.signatures()[name](history=history, k=tf.constant(NUM_ITEMS - 3))
        assert not {501, 502, 503} & set(top["top_ids"].numpy()[0].tolist())
        scores = _scores(model, [[0, 0, 1, 2, 3]], position)
        scores[:, :3] = -np.inf
        want = np.sort(scores, axis=1)[:, ::-1][:, : NUM_ITEMS - 3]
        np.testing.assert_allclose(top["top_scores"].numpy(), want, rtol=1e-5, atol=1e-5)


def test_k_is_checked_and_warmup_requests_cover_every_signature(model):
    serving = SequenceServing(model, ITEM_IDS, max_len=5)
    assert set(serving.warmup_requests()) == set(serving.signatures())
    serve = serving.signatures()["serving_size_4"]
    history = tf.constant([[0, 0, 0, 0, 501]], tf.int64)
    for k in (0, NUM_ITEMS + 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="k must be"):
            serve(history=history, k=tf.constant(k))


def test_item_vocabulary_must_be_distinct(model):
    with pytest.raises(ValueError, match="distinct"):
        RecommenderServing(model, [1, 2, 2])
    with pytest.raises(ValueError, match="has shape"):
        SequenceServing(model, ITEM_IDS[:-1], max_len=5)
