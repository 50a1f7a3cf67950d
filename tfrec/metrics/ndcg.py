"""NDCG@K as a Keras metric."""

from tfrec.metrics.top_k_metric import TopKMetric
from tfrec.utils.serialization import register_serializable

import tensorflow as tf


@register_serializable
class NDCGAtK(TopKMetric):
    """NDCG@K with binary relevance as a Keras metric.

    Args:
        k: int. Cut-off (items). Default name ``"ndcg@{k}"``.

    Call arguments (``update_state``):
        y_true: 0/1 `[batch, num_items]`, dense or `tf.SparseTensor`.
        y_pred: float scores `[batch, num_items]`, excluded items at ``-inf``.

    Raises:
        ValueError: if `k` < 1.

    References:
        - [Järvelin and Kekäläinen, 2002](https://doi.org/10.1145/582415.582418). Cumulated
          gain-based evaluation of IR techniques. ACM TOIS.
    """

    def __init__(self, k: int = 100, name=None, dtype=None, **kwargs):
        super().__init__(k, name=name or f"ndcg@{int(k)}", dtype=dtype, **kwargs)

    def _per_user(self, hits, num_targets):
        width = tf.shape(hits)[1]
        discounts = 1.0 / (
            tf.math.log(tf.cast(tf.range(width), tf.float32) + 2.0) / tf.math.log(2.0)
        )
        dcg = tf.reduce_sum(hits * discounts, axis=1)
        ideal_length = tf.cast(tf.minimum(tf.cast(width, tf.float32), num_targets), tf.int32)
        ideal_mask = tf.sequence_mask(ideal_length, width, dtype=tf.float32)
        idcg = tf.reduce_sum(ideal_mask * discounts, axis=1)
        return tf.math.divide_no_nan(dcg, idcg)
