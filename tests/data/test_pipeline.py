from tfrec.data.pipeline import sparse_evaluation_batches, sparse_user_batches

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


def _matrix(num_users=23, num_items=11, seed=0):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((num_users, num_items)) < 0.3).astype(np.float32))


def _rows(dataset):
    return [tf.sparse.to_dense(batch).numpy() for batch in dataset]


def test_batches_are_sparse_rows_of_the_matrix_in_order():
    matrix = _matrix()
    dataset = sparse_user_batches(matrix, batch_size=5, shuffle=False)
    assert isinstance(dataset.element_spec, tf.SparseTensorSpec)
    batches = _rows(dataset)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(batches), matrix.toarray())


def test_each_epoch_is_a_new_seeded_permutation():
    matrix = sp.csr_matrix(np.eye(20, dtype=np.float32))  # row r is one-hot at r

    def epochs(seed):
        dataset = sparse_user_batches(matrix, batch_size=7, seed=seed)
        return [np.concatenate(_rows(dataset)).argmax(axis=1) for _ in range(2)]

    first, second = epochs(5)
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert not np.array_equal(first, second)
    again = epochs(5)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])


def test_shards_split_one_shuffle_with_equal_batch_counts():
    matrix = sp.csr_matrix(np.eye(23, dtype=np.float32))
    shards = [
        sparse_user_batches(matrix, batch_size=4, seed=9, num_shards=3, shard_index=i)
        for i in range(3)
    ]
    users = [np.concatenate(_rows(d)).argmax(axis=1) for d in shards]
    assert [len(list(d)) for d in shards] == [2, 2, 2]  # 7 users each: batches of 4 and 3
    assert [len(u) for u in users] == [7, 7, 7]
    together = np.concatenate(users)
    assert len(set(together)) == 21  # disjoint; 23 % 3 = 2 users skipped this epoch
    single = np.concatenate(_rows(sparse_user_batches(matrix, batch_size=4, seed=9)))
    order = single.argmax(axis=1)[:21]
    np.testing.assert_array_equal(users[0], order[0::3])


def test_dense_variant_matches():
    matrix = _matrix()
    sparse = _rows(sparse_user_batches(matrix, 6, shuffle=False))
    dense = [b.numpy() for b in sparse_user_batches(matrix, 6, shuffle=False, dense=True)]
    for a, b in zip(sparse, dense):
        np.testing.assert_array_equal(a, b)


def test_evaluation_pairs():
    fold_in, target = _matrix(seed=1), _matrix(seed=2)
    pairs = list(sparse_evaluation_batches(fold_in, target, batch_size=10))
    x = np.concatenate([tf.sparse.to_dense(a).numpy() for a, _ in pairs])
    y = np.concatenate([tf.sparse.to_dense(b).numpy() for _, b in pairs])
    np.testing.assert_array_equal(x, fold_in.toarray())
    np.testing.assert_array_equal(y, target.toarray())
