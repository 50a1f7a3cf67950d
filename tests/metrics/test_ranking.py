import math

from tfrec.metrics import NDCGAtK, RecallAtK, evaluate_heldout_users, ndcg_at_k, recall_at_k

import numpy as np
import pytest
import scipy.sparse as sp


def _reference(scores, targets, k):
    """Plain-Python Recall@K (Liang's min(K, n) normalisation) and binary NDCG@K."""
    recalls, ndcgs = [], []
    for row_scores, row_targets in zip(scores, targets):
        ranked = sorted(range(len(row_scores)), key=lambda i: -row_scores[i])[:k]
        relevant = {i for i, t in enumerate(row_targets) if t}
        hits = [1 if i in relevant else 0 for i in ranked]
        recalls.append(sum(hits) / min(k, len(relevant)))
        dcg = sum(h / math.log2(rank + 2) for rank, h in enumerate(hits))
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
        ndcgs.append(dcg / idcg)
    return np.array(recalls), np.array(ndcgs)


SCORES = np.array(
    [
        [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        [0.5, -np.inf, 0.4, 0.3, 0.9, 0.1],
    ],
    dtype=np.float32,
)
TARGETS = np.array([[1, 0, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]], dtype=np.float32)


def test_hand_computed_values():
    # User 0: targets at ranks 1 and 3 -> NDCG@3 = (1 + 1/2) / (1 + 1/log2(3)).
    recall, ndcg = recall_at_k(SCORES, TARGETS, 3), ndcg_at_k(SCORES, TARGETS, 3)
    assert recall[0] == pytest.approx(1.0)
    assert ndcg[0] == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    # User 1: one of three targets (item 5) at rank 1 -> recall@3 = 1/3.
    assert recall[1] == pytest.approx(1 / 3)
    # User 2: the masked item is never ranked; target item 3 is 4th -> miss at k=3.
    assert recall[2] == 0.0 and ndcg[2] == 0.0


@pytest.mark.parametrize("k", [1, 2, 3, 5, 6])
def test_numpy_matches_reference(k):
    rng = np.random.default_rng(k)
    scores = rng.normal(size=(30, 6)).astype(np.float32)
    targets = (rng.random((30, 6)) < 0.4).astype(np.float32)
    targets[:, 0] = 1  # every user has a target
    expected_recall, expected_ndcg = _reference(scores, targets, k)
    np.testing.assert_allclose(recall_at_k(scores, targets, k), expected_recall, rtol=1e-6)
    np.testing.assert_allclose(
        ndcg_at_k(scores, sp.csr_matrix(targets), k), expected_ndcg, rtol=1e-6
    )


@pytest.mark.parametrize("metric_class, index", [(RecallAtK, 0), (NDCGAtK, 1)])
def test_keras_metrics_match_reference_and_skip_users_without_targets(metric_class, index):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 8)).astype(np.float32)
    targets = (rng.random((40, 8)) < 0.3).astype(np.float32)
    targets[:5] = 0
    valid = targets.sum(axis=1) > 0
    expected = _reference(scores[valid], targets[valid], 4)[index].mean()
    metric = metric_class(4)
    metric.update_state(targets[:17], scores[:17])
    metric.update_state(targets[17:], scores[17:])
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    assert metric.name == ("recall@4" if index == 0 else "ndcg@4")
    assert metric_class.from_config(metric.get_config()).k == 4


def test_bad_k():
    with pytest.raises(ValueError, match="k must be in"):
        recall_at_k(SCORES, TARGETS, 7)
    with pytest.raises(ValueError, match="k must be >= 1"):
        NDCGAtK(0)


def test_evaluate_heldout_users_masks_fold_in():
    fold_in = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]], np.float32))
    target = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]], np.float32))

    def score(x):  # prefers item 0, then 1, 2, 3
        return np.tile(np.array([4.0, 3.0, 2.0, 1.0], np.float32), (len(x), 1))

    result = evaluate_heldout_users(
        score, fold_in, target, recall_ks=(1,), ndcg_ks=(2,), map_ks=(2,)
    )
    # user 0: item 0 masked -> item 1 first (hit). user 2: item 1 masked -> 0 then 2 (hit at 2).
    assert result["recall@1"] == pytest.approx(0.5)
    assert result["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    # AP@2: user 0 precision 1 at rank 1; user 2 precision 1/2 at rank 2; one target each.
    assert result["map@2"] == pytest.approx((1 + 0.5) / 2)
    assert result["users"] == 2 and result["users_without_targets"] == 1


def test_average_precision_hand_computed_and_keras_map_agrees():
    from tfrec.metrics import MAPAtK, average_precision_at_k

    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]] * 3, np.float32)
    targets = np.array([[1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [0, 0, 0, 0, 0]], np.float32)
    # User 0: hits at ranks 1 and 3: (1/1 + 2/3) / min(3, 2) = 0.8333.
    # User 1: a hit at rank 2 (the other target is ranked 5th): (1/2) / min(3, 2) = 0.25.
    got = average_precision_at_k(scores, sp.csr_matrix(targets), 3)
    np.testing.assert_allclose(got[:2], [(1 + 2 / 3) / 2, 0.25], rtol=1e-6)
    assert np.isnan(got[2])  # no targets
    metric = MAPAtK(3)
    metric.update_state(targets, scores)
    assert float(metric.result()) == pytest.approx(((1 + 2 / 3) / 2 + 0.25) / 2, rel=1e-6)
    assert metric.name == "map@3"
    # With K = 5 user 1's second hit counts: (1/2 + 2/5) / min(5, 2) = 0.45.
    assert average_precision_at_k(scores, targets, 5)[1] == pytest.approx(0.45)
