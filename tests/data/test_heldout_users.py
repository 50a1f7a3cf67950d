from tfrec.data.heldout_users import filter_interactions, split_heldout_users
from tfrec.data.movielens import read_movielens

import numpy as np
import pandas as pd
import pytest

from tests.helpers import data_dir


def _frame(num_users=40, num_items=30, per_user=10, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, num_users + 1):
        for item in rng.choice(np.arange(100, 100 + num_items), size=per_user, replace=False):
            rows.append((user, int(item), float(rng.integers(1, 6))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_filter_binarises_and_drops_inactive_users():
    frame = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2, 2, 2, 2],
            "item_id": [1, 2, 3, 1, 2, 3, 4, 5, 6],
            "rating": [5, 5, 5, 4, 4, 4, 4, 4, 1],
        }
    )
    kept = filter_interactions(frame, rating_threshold=3.5, min_user_interactions=5)
    # user 1 has 3 ratings; user 2 keeps 5 ratings above 3.5
    assert kept["user_id"].unique().tolist() == [2]
    assert sorted(kept["item_id"]) == [1, 2, 3, 4, 5]


def test_threshold_is_noop_for_implicit_data():
    frame = pd.DataFrame({"user_id": [1] * 5, "item_id": [1, 2, 3, 4, 5]})
    assert len(filter_interactions(frame, rating_threshold=3.5)) == 5


def test_empty_after_filtering_raises():
    frame = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2], "rating": [1.0, 1.0]})
    with pytest.raises(ValueError, match="No interactions left"):
        filter_interactions(frame, rating_threshold=3.5)


def test_split_partitions_users_and_items():
    frame = _frame()
    split = split_heldout_users(frame, 5, 6, rating_threshold=None, seed=1)
    train_users = set(split.train.user_ids)
    assert len(train_users) == 29
    assert len(split.validation_user_ids) == 5 and len(split.test_user_ids) == 6
    assert not train_users & set(split.validation_user_ids)
    assert not set(split.validation_user_ids) & set(split.test_user_ids)
    # Items are those of training users; every held-out user's items outside are dropped.
    assert set(split.item_ids) == set(frame[frame.user_id.isin(train_users)].item_id)
    for fold_in, target, users in (
        (split.validation_fold_in, split.validation_target, split.validation_user_ids),
        (split.test_fold_in, split.test_target, split.test_user_ids),
    ):
        assert fold_in.multiply(target).nnz == 0
        for row, user in enumerate(users):
            expected = set(frame[frame.user_id == user].item_id) & set(split.item_ids)
            got = set(split.item_ids[(fold_in[row] + target[row]).indices])
            assert got == expected
            assert target[row].nnz == int(0.2 * len(expected))


def test_split_is_seeded():
    frame = _frame()
    a = split_heldout_users(frame, 5, 5, rating_threshold=None, seed=3)
    b = split_heldout_users(frame, 5, 5, rating_threshold=None, seed=3)
    c = split_heldout_users(frame, 5, 5, rating_threshold=None, seed=4)
    assert np.array_equal(a.test_user_ids, b.test_user_ids)
    assert (a.test_target != b.test_target).nnz == 0
    assert not np.array_equal(a.test_user_ids, c.test_user_ids)


def test_too_many_heldout_users():
    with pytest.raises(ValueError, match="no training users"):
        split_heldout_users(_frame(num_users=10), 5, 5, rating_threshold=None)


def test_ml1m_protocol_sizes():
    frame = read_movielens("ml-1m", data_dir("ml-1m"))
    split = split_heldout_users(frame, 600, 600, seed=98765)
    assert split.train.num_users == 4840
    assert len(split.test_user_ids) == 600
    assert split.train.num_interactions + split.validation_fold_in.nnz > 800_000
    # Every ML-1M user has >= 20 ratings, so every held-out user has targets.
    assert (np.asarray(split.test_target.sum(axis=1)).ravel() > 0).all()
