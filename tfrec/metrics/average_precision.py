"""MAP@K (mean average precision at K) as a Keras metric."""

from tfrec.metrics.top_k_metric import TopKMetric
from tfrec.utils.serialization import register_serializable

import tensorflow as tf


@register_serializable
class MAPAtK(TopKMetric):
    """MAP@K as a Keras metric: the mean over users of average precision at K.

    ``AP@K = sum_{i <= K} precision@i * rel_i / min(K, number of targets)`` with binary
    relevance, as NVIDIA's VAE-CF case study defines it; `average_precision_at_k` is the numpy
    form.

    Args:
        k: int. Cut-off (items). Default name ``"map@{k}"``.

    Call arguments (``update_state``):
        y_true: 0/1 `[batch, num_items]`, dense or `tf.SparseTensor`.
        y_pred: float scores `[batch, num_items]`, excluded items at ``-inf``.

    Raises:
        ValueError: if `k` < 1.

    References:
        - [NVIDIA DeepLearningExamples, VAE-CF](https://github.com/NVIDIA/DeepLearningExamples/tree/master/TensorFlow/Recommendation/VAE-CF).
    """

    def __init__(self, k: int = 100, name=None, dtype=None, **kwargs):
        super().__init__(k, name=name or f"map@{int(k)}", dtype=dtype, **kwargs)

    def _per_user(self, hits, num_targets):
        ranks = tf.range(1, tf.shape(hits)[1] + 1, dtype=tf.float32)
        precision = tf.cumsum(hits, axis=1) / ranks
        denominator = tf.minimum(tf.cast(self.k, tf.float32), num_targets)
        return tf.math.divide_no_nan(tf.reduce_sum(precision * hits, axis=1), denominator)
