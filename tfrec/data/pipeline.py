"""tf.data pipelines that batch rows of a scipy CSR matrix as `tf.SparseTensor`.

The full user x item matrix is never densified: only the row pointers and column indices live
in TensorFlow, and each batch is assembled as a `tf.SparseTensor` inside the pipeline. Following
Goyal et al. (2017), one seeded shuffle per epoch is split across workers (``num_shards``), each
worker getting the same number of batches so that no rank waits at the end of an epoch.

References:
    - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677). Accurate, Large Minibatch SGD.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


def _row_gatherer(matrix: sp.csr_matrix):
    """Returns a function mapping int64 row ids `[b]` to a float32 SparseTensor `[b, columns]`."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    indptr = tf.constant(matrix.indptr.astype(np.int64))
    indices = tf.constant(matrix.indices.astype(np.int64))
    num_columns = matrix.shape[1]

    def gather(rows):
        rows = tf.cast(rows, tf.int64)
        starts = tf.gather(indptr, rows)
        limits = tf.gather(indptr, rows + 1)
        positions = tf.ragged.range(starts, limits)
        columns = tf.gather(indices, positions.flat_values)
        batch_rows = positions.value_rowids()
        return tf.SparseTensor(
            indices=tf.stack([batch_rows, columns], axis=1),
            values=tf.ones_like(columns, dtype=tf.float32),
            dense_shape=tf.stack([tf.size(rows, out_type=tf.int64), num_columns]),
        )

    return gather


def sparse_user_batches(
    matrix,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    num_shards: int = 1,
    shard_index: int = 0,
    dense: bool = False,
    prefetch: bool = True,
) -> tf.data.Dataset:
    """Batches of user rows of an interaction matrix, for training autoencoders with `fit`.

    Each epoch (each new iterator, as `fit` makes) draws one permutation of all users from
    `seed`; with ``num_shards > 1`` it is cut into `num_shards` equal parts (the last
    ``num_users % num_shards`` users of that epoch's order are skipped) and this worker reads
    part `shard_index`. Every worker therefore sees the same number of batches.

    Args:
        matrix: scipy sparse matrix `[num_users, num_items]`.
        batch_size: int. Local batch size (users per batch on this worker).
        shuffle: bool. Reshuffle each epoch; False keeps row order (for evaluation).
        seed: int. Shuffle seed; equal on every worker so they share one permutation.
        num_shards: int. World size (number of workers).
        shard_index: int. This worker's rank.
        dense: bool. Emit dense float32 `[batch, num_items]` tensors instead (for benchmarks
            against the sparse path).
        prefetch: bool. Overlap input with training via ``prefetch(tf.data.AUTOTUNE)``.

    Returns:
        `tf.data.Dataset` of float32 `tf.SparseTensor` `[batch, num_items]` (dense if `dense`).

    Raises:
        ValueError: on a non-positive `batch_size`, bad shard arguments, or an empty matrix.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index must be in [0, num_shards), got {shard_index} and {num_shards}."
        )
    num_users = matrix.shape[0]
    per_shard = num_users // num_shards
    if per_shard == 0:
        raise ValueError(f"{num_users} users cannot be split across {num_shards} workers.")
    gather = _row_gatherer(matrix)
    rows = tf.data.Dataset.range(num_users)
    if shuffle:
        rows = rows.shuffle(num_users, seed=seed, reshuffle_each_iteration=True)
    if num_shards > 1:
        rows = rows.take(per_shard * num_shards).shard(num_shards, shard_index)
    batches = rows.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if dense:
        batches = batches.map(tf.sparse.to_dense, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        batches = batches.prefetch(tf.data.AUTOTUNE)
    return batches


def sparse_evaluation_batches(fold_in, target, batch_size: int) -> tf.data.Dataset:
    """Batches of held-out users as ``(fold_in, target)`` SparseTensor pairs, in row order.

    Args:
        fold_in: scipy sparse `[num_users, num_items]`: the items given to the model.
        target: scipy sparse, same shape: the items to rank.
        batch_size: int. Users per batch.

    Returns:
        `tf.data.Dataset` of pairs of float32 `tf.SparseTensor` `[batch, num_items]`, prefetched.

    Raises:
        ValueError: if shapes differ or `batch_size` < 1.
    """
    if fold_in.shape != target.shape:
        raise ValueError(f"fold_in {fold_in.shape} and target {target.shape} shapes differ.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    gather_fold_in = _row_gatherer(fold_in)
    gather_target = _row_gatherer(target)
    rows = tf.data.Dataset.range(fold_in.shape[0]).batch(batch_size)
    pairs = rows.map(lambda r: (gather_fold_in(r), gather_target(r)))
    return pairs.prefetch(tf.data.AUTOTUNE)
