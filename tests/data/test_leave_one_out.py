from tfrec.data.interactions import Interactions
from tfrec.data.leave_one_out import split_leave_one_out

import numpy as np
import pytest
import scipy.sparse as sp


def _interactions(num_users=30, num_items=40, seed=0):
    rng = np.random.default_rng(seed)
    dense = (rng.random((num_users, num_items)) < 0.25).astype(np.float32)
    dense[0] = 0.0
    dense[0, [1, 2]] = 1.0  # a user with only 2 interactions
    return Interactions(
        matrix=sp.csr_matrix(dense),
        user_ids=np.arange(100, 100 + num_users, dtype=np.int64),
        item_ids=np.arange(500, 500 + num_items, dtype=np.int64),
    )


def test_one_validation_and_one_test_item_per_user():
    data = _interactions()
    split = split_leave_one_out(data, seed=1)
    dense, train = data.matrix.toarray(), split.train.toarray()
    for user in range(data.num_users):
        if dense[user].sum() < 3:
            assert split.test_items[user] == -1 and split.validation_items[user] == -1
            np.testing.assert_array_equal(train[user], dense[user])
            continue
        test, validation = split.test_items[user], split.validation_items[user]
        assert test != validation
        assert dense[user, test] == 1 and dense[user, validation] == 1
        expected = dense[user].copy()
        expected[[test, validation]] = 0
        np.testing.assert_array_equal(train[user], expected)


def test_seeded():
    data = _interactions()
    a, b = split_leave_one_out(data, seed=5), split_leave_one_out(data, seed=5)
    np.testing.assert_array_equal(a.test_items, b.test_items)
    c = split_leave_one_out(data, seed=6)
    assert not np.array_equal(a.test_items, c.test_items)


def test_new_items_are_withheld_entirely():
    data = _interactions()
    split = split_leave_one_out(data, seed=2, new_item_fraction=0.1)
    assert len(split.new_items) == 4
    assert split.train[:, split.new_items].nnz == 0
    held = np.concatenate([split.test_items, split.validation_items])
    assert not np.isin(held, split.new_items).any()
    dense = data.matrix.toarray()
    np.testing.assert_array_equal(
        split.new_item_interactions[:, split.new_items].toarray(), dense[:, split.new_items]
    )
    assert split.new_item_interactions.nnz == dense[:, split.new_items].sum()
    np.testing.assert_array_equal(
        np.sort(np.concatenate([split.warm_items, split.new_items])), np.arange(40)
    )
    known = split.known_items([3]).toarray()[0]
    assert known[split.test_items[3]] == 1 and known[split.validation_items[3]] == 1


def test_bad_fraction():
    with pytest.raises(ValueError, match="new_item_fraction"):
        split_leave_one_out(_interactions(), new_item_fraction=1.0)


def test_real_ml_100k_split():
    from tfrec.data.item_features import load_item_features
    from tfrec.data.movielens import read_movielens

    from tests.helpers import data_dir

    folder = data_dir("ml-100k")
    data = Interactions.from_frame(read_movielens("ml-100k", folder))
    split = split_leave_one_out(data, seed=0, new_item_fraction=0.1)
    assert (split.num_users, split.num_items, len(split.new_items)) == (943, 1682, 168)
    assert (split.test_items >= 0).all()  # every ML-100K user has >= 20 ratings
    held = 2 * 943 + split.new_item_interactions.nnz
    assert split.train.nnz + held == 100000
    features, has_feature = load_item_features(folder / "image_features.npz", split.item_ids)
    assert features.shape == (1682, 1280) and has_feature.sum() == 1659
