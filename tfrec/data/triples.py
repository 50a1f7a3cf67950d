"""(user, positive item, negative item) triples for BPR training, generated inside tf.data.

Each epoch is one pass over the training interactions in a fresh seeded order; every positive
(u, i) is paired with a negative item j drawn uniformly from the candidate items that u has not
interacted with (Rendle et al., 2009, Section 4.2, without bootstrap replacement).

A whole epoch is generated at once, as a few vectorised ops over all its triples, and then cut
into batches: per-batch work in tf.data would cost more than a BPR-MF step itself. Negatives are
drawn for every triple and rejected where they hit one of the user's training items, then
redrawn only there (a shrinking set), until none is a positive (rejection sampling: the result
is exactly uniform over the user's non-interacted candidates). Membership is a binary search of
the key ``user * num_items + item`` in the sorted keys of the training pairs, so no per-sample
Python runs and memory stays at 8 bytes per interaction.
"""

from tfrec.data.data_error import DataError

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

# Each rejection round keeps at least 1 - max-user-density of the redraws; ML-1M's densest user
# has 62% of the items, so 200 rounds fail with probability 0.62**200, about 1e-42.
MAX_REJECTION_ROUNDS = 200


def positive_keys(interactions) -> np.ndarray:
    """Sorted int64 keys ``user * num_items + item`` of the non-zeros of a `[U, I]` matrix."""
    coo = sp.coo_matrix(interactions)
    keys = coo.row.astype(np.int64) * coo.shape[1] + coo.col.astype(np.int64)
    return np.unique(keys)


def contains_sorted(sorted_keys, queries):
    """Whether each query occurs in a sorted key tensor, by binary search.

    Args:
        sorted_keys: int64 tensor `[n]`, sorted ascending (e.g. `positive_keys`).
        queries: int64 tensor of any shape.

    Returns:
        bool tensor of the shape of `queries`.
    """
    sorted_keys = tf.cast(sorted_keys, tf.int64)
    queries = tf.cast(queries, tf.int64)
    flat = tf.reshape(queries, [-1])
    # A query past the last key lands at n: clip it onto the last key (then it differs from it).
    found = tf.minimum(
        tf.searchsorted(sorted_keys, flat, out_type=tf.int32),
        tf.maximum(tf.size(sorted_keys) - 1, 0),
    )
    padded = tf.concat([sorted_keys, tf.constant([-1], tf.int64)], 0)
    present = tf.equal(tf.gather(padded, found), flat)
    return tf.reshape(present, tf.shape(queries))


def sample_negatives(users, keys, num_items: int, candidates, seed):
    """Draws one negative item per entry of `users`, uniform over candidates it never saw.

    Args:
        users: int tensor `[batch]` of user indices.
        keys: int64 tensor `[nnz]`, sorted keys ``user * num_items + item`` of the positives.
        num_items: int. Number of columns I of the interaction matrix.
        candidates: int tensor `[C]` of the item indices negatives may be drawn from.
        seed: int tensor `[2]`, a stateless random seed.

    Returns:
        int32 tensor `[batch]` of item indices, none of them a positive of its user.

    Raises:
        tf.errors.InvalidArgumentError: if some draw stays a positive after
            `MAX_REJECTION_ROUNDS` rounds (a user who saw nearly every candidate).
    """
    users64 = tf.cast(users, tf.int64)
    keys = tf.cast(keys, tf.int64)
    candidates = tf.cast(candidates, tf.int32)
    num_candidates = tf.shape(candidates)[0]

    def draw(count, round_index):
        position = tf.random.stateless_uniform(
            [count],
            seed=tf.random.experimental.stateless_fold_in(seed, round_index),
            maxval=num_candidates,
            dtype=tf.int32,
        )
        return tf.gather(candidates, position)

    def is_positive(query_users, items):
        return contains_sorted(keys, query_users * num_items + tf.cast(items, tf.int64))

    negatives = draw(tf.shape(users64)[0], 0)
    # Positions whose draw is still a positive: only these are redrawn, so each round costs the
    # rejected draws, not the whole epoch.
    rejected = tf.where(is_positive(users64, negatives))[:, 0]

    def body(round_index, negatives, rejected):
        redrawn = draw(tf.shape(rejected)[0], round_index)
        accepted = tf.logical_not(is_positive(tf.gather(users64, rejected), redrawn))
        negatives = tf.tensor_scatter_nd_update(
            negatives,
            tf.boolean_mask(rejected, accepted)[:, tf.newaxis],
            tf.boolean_mask(redrawn, accepted),
        )
        return round_index + 1, negatives, tf.boolean_mask(rejected, tf.logical_not(accepted))

    _, negatives, rejected = tf.while_loop(
        lambda round_index, _, rejected: tf.logical_and(
            tf.size(rejected) > 0, round_index <= MAX_REJECTION_ROUNDS
        ),
        body,
        (tf.constant(1), negatives, rejected),
        shape_invariants=(
            tf.TensorShape([]),
            negatives.shape,
            tf.TensorShape([None]),
        ),
    )
    tf.debugging.assert_equal(
        tf.size(rejected),
        0,
        message="Negative sampling found no non-interacted item for a user after "
        f"{MAX_REJECTION_ROUNDS} rounds.",
    )
    return negatives


def bpr_triples(
    interactions,
    batch_size: int,
    seed: int = 0,
    candidate_items=None,
    shuffle: bool = True,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of BPR triples, one pass over the training interactions per epoch.

    Args:
        interactions: scipy sparse or dense `[num_users, num_items]`, non-zero = a training
            interaction (user u, positive item i).
        batch_size: int. Triples per batch; the last batch of an epoch may be smaller.
        seed: int. Seeds the order of each epoch and the negatives; iterating the dataset again
            (the next epoch of `fit`) draws a new order and new negatives, the same sequence for
            the same seed.
        candidate_items: optional int array of the item indices negatives are drawn from
            (default: all). Pass the training catalogue to keep withheld new items out.
        shuffle: bool. Visit the positives in a random order (default) or in matrix order.

    Returns:
        Dataset of dicts ``{"user", "positive_item", "negative_item"}``, int32 `[batch]`,
        prefetched, with a known number of batches per epoch.

    Raises:
        ValueError: if `batch_size` < 1 or a candidate index is out of range.
        DataError: (a `ValueError`) if there are no interactions, or some user has interacted
            with every candidate item (no negative exists).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    matrix = sp.csr_matrix(interactions)
    num_users, num_items = matrix.shape
    keys = positive_keys(matrix)
    if keys.size == 0:
        raise DataError("No training interactions to build BPR triples from.")
    users = (keys // num_items).astype(np.int32)
    items = (keys % num_items).astype(np.int32)
    if candidate_items is None:
        candidates = np.arange(num_items, dtype=np.int32)
    else:
        candidates = np.unique(np.asarray(candidate_items, np.int64))
        if candidates.size == 0 or candidates[0] < 0 or candidates[-1] >= num_items:
            raise ValueError(
                f"candidate_items must be a non-empty set of indices in [0, {num_items})."
            )
        candidates = candidates.astype(np.int32)
    is_candidate = np.zeros(num_items, bool)
    is_candidate[candidates] = True
    positives_among_candidates = np.bincount(users[is_candidate[items]], minlength=num_users)
    full = np.flatnonzero(positives_among_candidates >= len(candidates))
    if full.size:
        raise DataError(
            f"User index {full[0]} has interacted with all {len(candidates)} candidate items, "
            "so no negative item exists for it; drop such users before BPR training."
        )

    num_pairs = len(keys)
    batch_size = int(batch_size)
    num_full = num_pairs // batch_size
    remainder = num_pairs - num_full * batch_size
    num_batches = num_full + (1 if remainder else 0)
    users_t = tf.constant(users)
    items_t = tf.constant(items)
    keys_t = tf.constant(keys)
    candidates_t = tf.constant(candidates)

    def epoch_triples(epoch_seed):
        # The whole epoch in a few vectorised ops, then cut into batches by a reshape.
        order = tf.range(num_pairs, dtype=tf.int32)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=tf.stack([epoch_seed, tf.constant(0, tf.int64)])
            )
        epoch_users = tf.gather(users_t, order)
        triples = {
            "user": epoch_users,
            "positive_item": tf.gather(items_t, order),
            "negative_item": sample_negatives(
                epoch_users,
                keys_t,
                num_items,
                candidates_t,
                seed=tf.stack([epoch_seed, tf.constant(1, tf.int64)]),
            ),
        }
        batches = tf.data.Dataset.from_tensor_slices(
            {
                name: tf.reshape(values[: num_full * batch_size], [num_full, batch_size])
                for name, values in triples.items()
            }
        )
        if remainder:
            batches = batches.concatenate(
                tf.data.Dataset.from_tensors(
                    {name: values[num_full * batch_size :] for name, values in triples.items()}
                )
            )
        return batches

    # One random int64 per epoch: `rerandomize_each_iteration` gives a new one each time `fit`
    # starts an epoch, and the same sequence for the same seed.
    dataset = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).take(1)
    dataset = dataset.flat_map(epoch_triples)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
    return dataset.prefetch(tf.data.AUTOTUNE)
