"""Shared base of the autoencoder recommenders (Mult-VAE, Mult-DAE) and the item-item baselines.

All of them map a user's interaction vector `[batch, num_items]` to scores over all items, are
trained on training users and evaluated on held-out users: the fold-in items go in, the fold-in
items are masked out of the scores, and the target items are ranked (Liang et al., 2018).
"""

import tensorflow as tf
import tf_keras as keras


def to_dense_interactions(inputs, num_items=None):
    """Densifies a batch `[batch, num_items]` (SparseTensor or dense) to float32.

    Only this batch becomes dense; with `num_items` the static width is set for Keras layers.
    """
    if isinstance(inputs, tf.SparseTensor):
        inputs = tf.sparse.to_dense(tf.sparse.reorder(inputs))
    inputs = tf.cast(inputs, tf.float32)
    if num_items is not None:
        inputs = tf.ensure_shape(inputs, [None, num_items])
    return inputs


class AutoencoderRecommender(keras.Model):
    """A Keras model scoring all items from a user's interaction vector.

    Subclasses implement ``call(inputs, training)`` returning float32 logits `[batch, num_items]`.
    This base class adds the held-out-user evaluation step (fold-in items masked, compiled ranking
    metrics such as `tfrec.metrics.NDCGAtK` updated against the targets) and `recommend`.

    Args:
        num_items: int. Size of the item catalogue I.
        **kwargs: passed to `keras.Model`.

    Raises:
        ValueError: if `num_items` < 1.
    """

    def __init__(self, num_items: int, **kwargs):
        super().__init__(**kwargs)
        if int(num_items) < 1:
            raise ValueError(f"num_items must be >= 1, got {num_items}.")
        self.num_items = int(num_items)

    def masked_scores(self, fold_in):
        """Scores `[batch, num_items]` (float32) with the fold-in items set to ``-inf``."""
        dense = to_dense_interactions(fold_in, self.num_items)
        logits = tf.cast(self(dense, training=False), tf.float32)
        return tf.where(dense > 0, tf.constant(-float("inf"), tf.float32), logits)

    def test_step(self, data):
        # Validation data are (fold_in, target) pairs of held-out users (Liang et al., Sec. 4.1).
        fold_in, target = data[0], data[1]
        scores = self.masked_scores(fold_in)
        self.compiled_metrics.update_state(to_dense_interactions(target), scores)
        return {m.name: m.result() for m in self.compiled_metrics.metrics}

    def recommend(self, fold_in, k: int = 100):
        """Top-`k` item columns and scores per user, excluding the user's own items.

        Args:
            fold_in: `[batch, num_items]` interactions, dense or `tf.SparseTensor`.
            k: int. Number of items, 1 <= k <= num_items.

        Returns:
            Tuple ``(columns, scores)``: int32 and float32 `[batch, k]`.

        Raises:
            ValueError: if `k` is outside [1, num_items].
        """
        if not 1 <= int(k) <= self.num_items:
            raise ValueError(f"k must be in [1, num_items={self.num_items}], got {k}.")
        top = tf.math.top_k(self.masked_scores(fold_in), k=int(k))
        return top.indices, top.values

    def get_config(self):
        return {"num_items": self.num_items, "name": self.name}


def unique_metrics(metrics):
    """Drops repeated metric objects, keeping order (Keras also tracks them as attributes)."""
    seen, unique = set(), []
    for metric in metrics:
        if id(metric) not in seen:
            seen.add(id(metric))
            unique.append(metric)
    return unique
