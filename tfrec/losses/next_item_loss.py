"""The full-softmax next-item cross-entropy shared by LRURec and fMRLRec."""

import tensorflow as tf


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
