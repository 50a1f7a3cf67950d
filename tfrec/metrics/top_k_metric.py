"""Base class of the Keras top-K ranking metrics."""

import tensorflow as tf
import tf_keras as keras


class TopKMetric(keras.metrics.Metric):
    """Mean of a per-user top-K quantity over users that have at least one target.

    Subclasses implement ``_per_user(hits, num_targets)``: `hits` is 0/1 float `[batch, K]` in
    rank order, `num_targets` float `[batch]`.
    """

    def __init__(self, k: int, name=None, dtype=None, **kwargs):
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.k = int(k)
        self.total = self.add_weight(name="total", initializer="zeros", dtype=tf.float32)
        self.count = self.add_weight(name="count", initializer="zeros", dtype=tf.float32)

    def _per_user(self, hits, num_targets):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates a batch.

        Args:
            y_true: 0/1 `[batch, num_items]`, dense or `tf.SparseTensor`: the target items.
            y_pred: float `[batch, num_items]` scores; excluded items set to ``-inf``.
            sample_weight: optional `[batch]` user weights.
        """
        if isinstance(y_true, tf.SparseTensor):
            y_true = tf.sparse.to_dense(y_true)
        y_true = tf.cast(y_true > 0, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        k = tf.minimum(self.k, tf.shape(y_pred)[1])
        top = tf.math.top_k(y_pred, k=k).indices
        hits = tf.gather(y_true, top, batch_dims=1)
        num_targets = tf.reduce_sum(y_true, axis=1)
        values = self._per_user(hits, num_targets)
        weights = tf.cast(num_targets > 0, tf.float32)
        if sample_weight is not None:
            weights *= tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
        values = tf.where(weights > 0, values, 0.0)
        self.total.assign_add(tf.reduce_sum(values * weights))
        self.count.assign_add(tf.reduce_sum(weights))

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"k": self.k})
        return config
