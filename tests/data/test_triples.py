from tfrec.data.triples import bpr_triples, positive_keys, sample_negatives

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats
import tensorflow as tf


def _matrix():
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 25)) < 0.3).astype(np.float32)
    dense[:, 0] = 1.0  # every user saw item 0
    return sp.csr_matrix(dense)


def _epoch(dataset):
    batches = list(dataset.as_numpy_iterator())
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def test_one_pass_over_positives_and_never_a_positive_negative():
    matrix = _matrix()
    dense = matrix.toarray()
    dataset = bpr_triples(matrix, batch_size=32, seed=3)
    assert int(dataset.cardinality()) == int(np.ceil(matrix.nnz / 32))
    for _ in range(2):  # two epochs
        epoch = _epoch(dataset)
        pairs = sorted(zip(epoch["user"].tolist(), epoch["positive_item"].tolist()))
        assert pairs == sorted(zip(*matrix.nonzero()))
        assert np.all(dense[epoch["user"], epoch["negative_item"]] == 0)
        assert epoch["user"].dtype == np.int32


def test_seeded_and_new_draws_every_epoch():
    matrix = _matrix()
    first = _epoch(bpr_triples(matrix, batch_size=50, seed=7))
    dataset = bpr_triples(matrix, batch_size=50, seed=7)
    again, second = _epoch(dataset), _epoch(dataset)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(again["user"], second["user"])  # reshuffled
    different = bpr_triples(matrix, batch_size=50, seed=8)
    assert not np.array_equal(_epoch(different)["negative_item"], first["negative_item"])


def test_candidate_items_restrict_negatives():
    matrix = _matrix()
    candidates = np.arange(10, 25)
    epoch = _epoch(bpr_triples(matrix, batch_size=64, seed=1, candidate_items=candidates))
    assert set(np.unique(epoch["negative_item"])) <= set(candidates.tolist())


def test_negatives_are_uniform_over_non_interacted_items():
    # One user with positives {0, 3, 4, 8}; 10 items: negatives uniform over the other 6.
    dense = np.zeros((2, 10), np.float32)
    dense[0, [0, 3, 4, 8]] = 1.0
    dense[1, [1, 2]] = 1.0
    matrix = sp.csr_matrix(dense)
    users = tf.zeros([60000], tf.int32)
    negatives = sample_negatives(
        users, positive_keys(matrix), 10, tf.range(10), seed=tf.constant([11, 12], tf.int64)
    ).numpy()
    allowed = [1, 2, 5, 6, 7, 9]
    assert set(np.unique(negatives)) == set(allowed)
    counts = np.array([(negatives == item).sum() for item in allowed])
    chi2 = scipy.stats.chisquare(counts)
    assert chi2.pvalue > 0.001, counts


def test_user_with_every_item_is_an_error():
    dense = np.ones((2, 4), np.float32)
    dense[1, 3] = 0.0
    with pytest.raises(ValueError, match="User index 0 has interacted with all 4"):
        bpr_triples(sp.csr_matrix(dense), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        bpr_triples(sp.csr_matrix(dense), batch_size=0)
