from tfrec.data.leave_one_out import LeaveOneOutSplit
from tfrec.metrics.auc import auc_per_user, pairwise_auc_per_user
from tfrec.metrics.leave_one_out_evaluation import evaluate_leave_one_out, evaluate_new_items

import numpy as np
import scipy.sparse as sp


def _loop_auc(scores, target, excluded):
    # The paper's definition, pair by pair, ties counting 1/2.
    total, count = 0.0, 0
    for j, score in enumerate(scores):
        if j == target or excluded[j]:
            continue
        count += 1
        total += 1.0 if scores[target] > score else 0.5 if scores[target] == score else 0.0
    return total / count


def test_auc_per_user_matches_pair_loop():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(6, 9)).astype(np.float32)  # many ties
    targets = rng.integers(0, 9, size=6)
    exclude = rng.random((6, 9)) < 0.3
    expected = [_loop_auc(scores[u], targets[u], exclude[u]) for u in range(6)]
    np.testing.assert_allclose(auc_per_user(scores, targets, sp.csr_matrix(exclude)), expected)


def test_hand_computed_example():
    # Items 0..4; target 2 (score 0.5); item 0 excluded; negatives 1 (0.9), 3 (0.1), 4 (0.5).
    scores = np.array([[3.0, 0.9, 0.5, 0.1, 0.5]])
    exclude = np.array([[1, 0, 0, 0, 0]])
    np.testing.assert_allclose(auc_per_user(scores, [2], exclude), [(0 + 1 + 0.5) / 3])


def test_pairwise_auc_matches_pair_loop():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 3, size=(5, 7)).astype(np.float64)
    positives = rng.random((5, 7)) < 0.4
    positives[0] = False  # no positive: NaN
    result = pairwise_auc_per_user(scores, positives)
    assert np.isnan(result[0])
    for u in range(1, 5):
        pos, neg = np.flatnonzero(positives[u]), np.flatnonzero(~positives[u])
        if len(neg) == 0:
            assert np.isnan(result[u])
            continue
        pairs = [
            1.0 if scores[u, p] > scores[u, n] else 0.5 if scores[u, p] == scores[u, n] else 0.0
            for p in pos
            for n in neg
        ]
        np.testing.assert_allclose(result[u], np.mean(pairs))


def _tiny_split():
    # 3 users x 6 items; item 5 withheld (new). Item training counts: 0:3, 1:1, 2:1, 3:0, 4:0.
    train = np.array([[1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], np.float32)
    new = np.zeros((3, 6), np.float32)
    new[0, 5] = 1.0
    return LeaveOneOutSplit(
        train=sp.csr_matrix(train),
        validation_items=np.array([2, 3, 1]),
        test_items=np.array([3, 4, 2]),
        new_items=np.array([5]),
        new_item_interactions=sp.csr_matrix(new),
        user_ids=np.array([1, 2, 3]),
        item_ids=np.arange(6),
    )


def test_evaluate_leave_one_out_and_cold_start_by_hand():
    split = _tiny_split()
    scores = np.array(
        [
            [0.0, 0.0, 0.0, 0.9, 0.2, 5.0],  # user 0: test 3; negatives {4} -> 1
            [0.0, 0.1, 0.0, 0.0, 0.3, 5.0],  # user 1: test 4; negatives {1} -> 1
            [0.0, 0.0, 0.4, 0.6, 0.1, 5.0],  # user 2: test 2; negatives {3, 4} -> 1/2
        ]
    )
    result = evaluate_leave_one_out(lambda users: scores[users], split, ks=(1, 2))
    np.testing.assert_allclose(result["auc"], (1 + 1 + 0.5) / 3)
    # Cold start (<= 5 training interactions) covers all; with threshold 0 only items 3 and 4.
    assert result["cold_users"] == 3
    strict = evaluate_leave_one_out(
        lambda users: scores[users],
        split,
        ks=(1,),
        cold_start_max_interactions=0,
        extra_cold_start_thresholds=(1,),
    )
    assert strict["cold_users"] == 2
    np.testing.assert_allclose(strict["cold_auc"], 1.0)
    # Test items with <= 1 training interaction: 3, 4 and 2 (count 1) -> all three users.
    assert strict["cold_users@1"] == 3
    np.testing.assert_allclose(strict["cold_auc@1"], (1 + 1 + 0.5) / 3)
    # Ranking: train, the validation item and new items masked. User 2 ranks 3 above its test 2.
    np.testing.assert_allclose(result["recall@1"], 2 / 3)
    np.testing.assert_allclose(result["ndcg@2"], (1 + 1 + 1 / np.log2(3)) / 3)


def test_new_item_auc():
    split = _tiny_split()
    split.new_items = np.array([4, 5])
    positives = np.zeros((3, 6), np.float32)
    positives[0, 5] = positives[1, 4] = 1.0
    split.new_item_interactions = sp.csr_matrix(positives)
    scores = np.array([[0.0, 1.0], [0.0, 1.0], [3.0, 3.0]])  # columns: items 4, 5
    result = evaluate_new_items(lambda users: scores[users], split)
    assert result["new_item_users"] == 2
    np.testing.assert_allclose(result["new_item_auc"], (1.0 + 0.0) / 2)
