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


def to_sparse_interactions(inputs, num_items: int) -> tf.SparseTensor:
    """A batch `[batch, num_items]` as a float32 `tf.SparseTensor` of its non-zero entries.

    A `tf.SparseTensor` passes through (cast to float32, its order kept); a dense batch keeps only
    its non-zeros, so both reach the model's first layer as the same sparse product.

    Args:
        inputs: `tf.SparseTensor` or dense tensor `[batch, num_items]`.
        num_items: int. Number of columns.

    Returns:
        float32 `tf.SparseTensor` `[batch, num_items]` with static width `num_items`.
    """
    if isinstance(inputs, tf.SparseTensor):
        sparse = tf.SparseTensor(
            inputs.indices, tf.cast(inputs.values, tf.float32), inputs.dense_shape
        )
    else:
        dense = tf.ensure_shape(tf.cast(inputs, tf.float32), [None, num_items])
        sparse = tf.sparse.from_dense(dense)
    return tf.SparseTensor(
        sparse.indices,
        sparse.values,
        tf.stack([sparse.dense_shape[0], tf.constant(num_items, tf.int64)]),
    )


def l2_normalize_rows(sparse: tf.SparseTensor) -> tf.SparseTensor:
    """Divides each row's non-zero values by the row's L2 norm (all-zero rows stay zero).

    The sparse counterpart of ``tf.math.l2_normalize(x, axis=1)`` (which uses
    ``x / sqrt(max(sum x^2, 1e-12))``), computed on the non-zero values only.
    """
    rows = sparse.indices[:, 0]
    num_rows = sparse.dense_shape[0]
    squared_norm = tf.math.unsorted_segment_sum(tf.square(sparse.values), rows, num_rows)
    inverse_norm = tf.math.rsqrt(tf.maximum(squared_norm, 1e-12))
    return tf.SparseTensor(
        sparse.indices, sparse.values * tf.gather(inverse_norm, rows), sparse.dense_shape
    )


# Batches with at most this fraction of non-zero entries go through the sparse product. On the
# 2-core CPU of the README's "Training speed" section, TensorFlow's sparse-dense product ran at
# about 1/100 of the dense matmul rate per multiply-add, so the sparse product pays off only
# below about 1% density: ML-20M batches (0.4%) gain, ML-1M batches (4.5%) lose.
SPARSE_INPUT_MAX_DENSITY = 0.01


def sparse_input_layer(
    layer, sparse: tf.SparseTensor, max_density: float = SPARSE_INPUT_MAX_DENSITY
):
    """Applies a built `keras.layers.Dense` to a `tf.SparseTensor` batch.

    ``activation(sparse @ kernel + bias)``. A batch whose fraction of non-zeros is at most
    `max_density` is multiplied directly with `tf.sparse.sparse_dense_matmul` (cost proportional
    to the non-zeros, as in NVIDIA's VAE-CF); a denser one is scattered into a dense batch and
    multiplied with `tf.matmul`, which is faster at that density. Both give the same result up
    to float rounding (duplicate coordinates are summed either way). The product runs in float32
    and is cast to the layer's compute dtype, as the layer's own call would do under a mixed
    precision policy.

    Args:
        layer: a built `keras.layers.Dense` whose input width is the sparse tensor's width.
        sparse: float32 `tf.SparseTensor` `[batch, input_width]`.
        max_density: float. 1 always takes the sparse product, 0 always the dense one.

    Returns:
        Tensor `[batch, layer.units]` in the layer's compute dtype.
    """
    kernel = tf.cast(layer.kernel, tf.float32)

    def sparse_product():
        return tf.sparse.sparse_dense_matmul(sparse, kernel)

    def dense_product():
        dense = tf.scatter_nd(sparse.indices, sparse.values, sparse.dense_shape)
        return tf.matmul(dense, kernel)

    if max_density >= 1.0:
        outputs = sparse_product()
    elif max_density <= 0.0:
        outputs = dense_product()
    else:
        cells = tf.cast(sparse.dense_shape[0], tf.float32) * float(kernel.shape[0])
        density = tf.cast(tf.size(sparse.values), tf.float32) / tf.maximum(cells, 1.0)
        outputs = tf.cond(density <= max_density, sparse_product, dense_product)
    outputs = tf.cast(outputs, layer.compute_dtype)
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, tf.cast(layer.bias, layer.compute_dtype))
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs


def build_dense_chain(layers, input_width: int) -> int:
    """Builds `keras.layers.Dense` layers applied one after another; returns the last width.

    The autoencoders build their layers at construction: the first one is applied to sparse
    batches by `sparse_input_layer`, which reads its kernel directly.
    """
    width = int(input_width)
    for layer in layers:
        layer.build((None, width))
        width = layer.units
    return width


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
        sparse = to_sparse_interactions(fold_in, self.num_items)
        logits = tf.cast(self(sparse, training=False), tf.float32)
        known = tf.boolean_mask(sparse.indices, sparse.values > 0)
        return tf.tensor_scatter_nd_update(
            logits, known, tf.fill([tf.shape(known)[0]], tf.constant(-float("inf"), tf.float32))
        )

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
