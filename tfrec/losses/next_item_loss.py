"""The full-softmax next-item cross-entropy shared by LRURec and fMRLRec, and its inputs."""

import tensorflow as tf


def labelled_states(hidden, labels):
    """The hidden states at the labelled positions and their targets among the real items.

    Left padding leaves most positions of a batch without a label; only the labelled ones are
    scored.

    Args:
        hidden: float `[batch, max_len, d]` hidden states.
        labels: int `[batch, max_len]` next item index at each position (1-based), 0 where
            ignored.

    Returns:
        `(states, targets)`: float32 `[positions, d]` and int32 `[positions]`, the target's
        0-based index among the real items (row `target + 1` of an item table whose row 0 is
        padding).
    """
    labels = tf.cast(labels, tf.int32)
    positions = tf.where(labels > 0)
    states = tf.cast(tf.gather_nd(hidden, positions), tf.float32)
    return states, tf.gather_nd(labels, positions) - 1


def mean_next_item_cross_entropy(logits, target_logits):
    """Mean softmax cross-entropy over labelled positions, 0 when there are none.

    Computed as logsumexp(logits) - target logit, the value and gradient of
    `tf.nn.sparse_softmax_cross_entropy_with_logits` (faster on CPU; see `FMRLRec.nested_loss`).
    A sum over a count with `divide_no_nan` rather than `reduce_mean`: the same value bit for
    bit, but a batch without labels gives 0 with zero gradients instead of NaN.

    Args:
        logits: float32 `[positions, num_items]`. Scores of every item at each labelled position.
        target_logits: float32 `[positions]`. The score of each position's target item.

    Returns:
        float32 scalar, in nats.
    """
    per_position = tf.reduce_logsumexp(logits, axis=-1) - target_logits
    return tf.math.divide_no_nan(
        tf.reduce_sum(per_position), tf.cast(tf.size(per_position), tf.float32)
    )
