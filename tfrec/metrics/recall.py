"""Recall@K as a Keras metric."""

from tfrec.metrics.top_k_metric import TopKMetric
from tfrec.utils.serialization import register_serializable

import tensorflow as tf


@register_serializable
class RecallAtK(TopKMetric):
    """Recall@K as a Keras metric, normalised by ``min(K, number of targets)`` (Liang et al.).

    Args:
        k: int. Cut-off (items). Default name ``"recall@{k}"``.

    Call arguments (``update_state``):
        y_true: 0/1 `[batch, num_items]`, dense or `tf.SparseTensor`.
        y_pred: float scores `[batch, num_items]`, excluded items at ``-inf``.

    Raises:
        ValueError: if `k` < 1.

    References:
        - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). WWW.
    """

    def __init__(self, k: int = 20, name=None, dtype=None, **kwargs):
        super().__init__(k, name=name or f"recall@{int(k)}", dtype=dtype, **kwargs)

    def _per_user(self, hits, num_targets):
        denominator = tf.minimum(tf.cast(self.k, tf.float32), num_targets)
        return tf.math.divide_no_nan(tf.reduce_sum(hits, axis=1), denominator)
