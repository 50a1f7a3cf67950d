"""fMRLRec: a Matryoshka-nested LRU sequential recommender over frozen item features."""

import math

from tfrec.layers.linear_recurrent_block import LinearRecurrentBlock
from tfrec.layers.matryoshka_dense import MatryoshkaDense, check_matryoshka_sizes
from tfrec.losses.next_item_loss import labelled_states, mean_next_item_cross_entropy
from tfrec.utils.serialization import register_serializable

import numpy as np
import tensorflow as tf
import tf_keras as keras

# Logit given to the padding index so that it is never predicted (finite: keeps softmax NaN-free).
_PADDING_LOGIT = -1e9


def _feature_table(features, num_items: int, name: str):
    """Checks a `[num_items, d]` feature array and prepends the zero row of the padding index."""
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or features.shape[0] != num_items:
        raise ValueError(
            f"`{name}` must have shape [num_items={num_items}, d], got {features.shape}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(f"`{name}` holds NaN or inf values.")
    return np.concatenate([np.zeros((1, features.shape[1]), np.float32), features])


@register_serializable
class FMRLRec(keras.Model):
    """fMRLRec: train once, deploy at every Matryoshka size.

    Items are represented by their frozen text and image features (and optionally a learned id
    embedding), concatenated and projected by a dense layer to the model width ``d = m_K``. A
    user's left-padded history of items goes through `num_blocks` `LinearRecurrentBlock`s whose
    weights are Matryoshka-nested, so the first ``m`` features of every hidden state are those
    of a complete width-``m`` model. The score of item ``i`` at size ``m`` is the dot product of
    the first ``m`` features of the last hidden state with the first ``m`` features of item
    ``i``'s projected representation (tied input and output item matrix). All sizes come from
    one pass: the size-``m_k`` scores are a running sum of per-block partial dot products.
    Training minimises the full-softmax cross-entropy of the next item at every position,
    averaged over the Matryoshka sizes.

    With no text or image features and ``item_id_embedding_dim > 0`` this is fMRLRec's ID-only
    LRU ablation (its pre-norm SiLU-gated blocks on a projected id embedding). LRURec itself, a
    different model (post-norm GELU blocks, a per-item output bias), is `tfrec.models.LRURec`.

    Item indices are 1-based; 0 is padding and is never recommended.

    Args:
        num_items: int. Number of items I (indices 1..I).
        matryoshka_sizes: sequence of int. Strictly increasing nested widths, e.g.
            (16, 32, 64, 128, 256); the last is the model width.
        item_text_features: float array `[num_items, d_text]` or None. Frozen (non-trainable);
            row ``i - 1`` belongs to item index ``i``.
        item_image_features: float array `[num_items, d_image]` or None. Frozen.
        item_id_embedding_dim: int. Width of a learned item id embedding; 0 for none.
        text_feature_dim, image_feature_dim: int or None. Feature widths when the arrays are not
            given (set by `from_config`; the values then come from the saved weights).
        num_blocks: int. Number of LRU blocks. Default 1 (fMRLRec's setting).
        feed_forward_multiplier: int. Gated feed-forward hidden width as a multiple of each size.
        dropout: float. Dropout on item embeddings and inside blocks. Default 0.1.
        r_min, r_max, max_phase: LRU ring initialisation. Defaults 0.0, 0.1, 2*pi (fMRLRec).
        **kwargs: base `Model` arguments.

    Call arguments:
        inputs: int tensor `[batch, max_len]` of item indices, left-padded with 0; static
            `max_len`.
        training: bool.

    Returns:
        float32 scores `[batch, len(matryoshka_sizes), num_items + 1]` for the item after the
        last position, one row per Matryoshka size; column 0 (padding) is -1e9.

    Raises:
        ValueError: no item representation, bad sizes, or feature arrays of the wrong shape.

    Example:
        >>> from tfrec.data.sequences import next_item_examples, training_dataset
        >>> text = np.random.default_rng(0).normal(size=(100, 12)).astype(np.float32)
        >>> model = FMRLRec(num_items=100, matryoshka_sizes=[8, 16], item_text_features=text)
        >>> model.compile(optimizer=keras.optimizers.AdamW(1e-3))
        >>> inputs, labels = next_item_examples([np.arange(1, 9), np.arange(20, 26)], max_len=6)
        >>> history = model.fit(training_dataset(inputs, labels, batch_size=2), epochs=1,
        ...                     verbose=0)
        >>> model(inputs).shape  # [batch, Matryoshka sizes, items + padding]
        TensorShape([2, 2, 101])

    References:
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation. WSDM.
    """

    def __init__(
        self,
        num_items: int,
        matryoshka_sizes=(16, 32, 64, 128, 256),
        item_text_features=None,
        item_image_features=None,
        item_id_embedding_dim: int = 0,
        text_feature_dim=None,
        image_feature_dim=None,
        num_blocks: int = 1,
        feed_forward_multiplier: int = 1,
        dropout: float = 0.1,
        r_min: float = 0.0,
        r_max: float = 0.1,
        max_phase: float = 2 * math.pi,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_items) < 1:
            raise ValueError(f"`num_items` must be >= 1, got {num_items}.")
        if int(num_blocks) < 1:
            raise ValueError(f"`num_blocks` must be >= 1, got {num_blocks}.")
        num_items = int(num_items)
        text = None
        if item_text_features is not None:
            text = _feature_table(item_text_features, num_items, "item_text_features")
            text_feature_dim = text.shape[1]
        image = None
        if item_image_features is not None:
            image = _feature_table(item_image_features, num_items, "item_image_features")
            image_feature_dim = image.shape[1]
        if not (text_feature_dim or image_feature_dim or item_id_embedding_dim):
            raise ValueError(
                "FMRLRec needs item text features, image features or item_id_embedding_dim > 0."
            )

        # === Config ===
        self.num_items = num_items
        self.matryoshka_sizes = check_matryoshka_sizes(matryoshka_sizes)
        self.item_id_embedding_dim = int(item_id_embedding_dim)
        self.text_feature_dim = None if not text_feature_dim else int(text_feature_dim)
        self.image_feature_dim = None if not image_feature_dim else int(image_feature_dim)
        self.num_blocks = int(num_blocks)
        self.feed_forward_multiplier = int(feed_forward_multiplier)
        self.dropout = float(dropout)
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.max_phase = float(max_phase)

        # === Layers ===
        # Frozen feature tables are non-trainable weights, so they are saved with the model's
        # weights (not in its JSON config) and reload without the source arrays.
        rows = num_items + 1
        self.item_text_table = None
        if self.text_feature_dim:
            self.item_text_table = self.add_weight(
                "item_text_features",
                shape=(rows, self.text_feature_dim),
                dtype=tf.float32,
                initializer=keras.initializers.Constant(text) if text is not None else "zeros",
                trainable=False,
            )
        self.item_image_table = None
        if self.image_feature_dim:
            self.item_image_table = self.add_weight(
                "item_image_features",
                shape=(rows, self.image_feature_dim),
                dtype=tf.float32,
                initializer=keras.initializers.Constant(image) if image is not None else "zeros",
                trainable=False,
            )
        self.item_id_embedding = (
            keras.layers.Embedding(rows, self.item_id_embedding_dim, name="item_id_embedding")
            if self.item_id_embedding_dim
            else None
        )
        self.item_projection = keras.layers.Dense(self.matryoshka_sizes[-1], name="item_projection")
        self.embedding_dropout = keras.layers.Dropout(self.dropout)
        self.blocks = [
            LinearRecurrentBlock(
                self.matryoshka_sizes,
                feed_forward_multiplier=self.feed_forward_multiplier,
                dropout=self.dropout,
                r_min=self.r_min,
                r_max=self.r_max,
                max_phase=self.max_phase,
                name=f"block_{index}",
            )
            for index in range(self.num_blocks)
        ]
        self.loss_tracker = keras.metrics.Mean(name="loss")

    # --- Forward pass -------------------------------------------------------------------------

    def item_representations(self):
        """Projected representations of every index (row 0: padding), `[num_items + 1, d]`."""
        parts = []
        if self.item_text_table is not None:
            parts.append(tf.cast(self.item_text_table, tf.float32))
        if self.item_image_table is not None:
            parts.append(tf.cast(self.item_image_table, tf.float32))
        if self.item_id_embedding is not None:
            parts.append(tf.cast(self.item_id_embedding(tf.range(self.num_items + 1)), tf.float32))
        features = parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)
        return self.item_projection(tf.cast(features, self.compute_dtype))

    def encode(self, inputs, items=None, training=None, last_only=False):
        """Hidden states of a left-padded index history.

        Args:
            inputs: int `[batch, max_len]` indices, 0 for padding.
            items: optional float `[num_items + 1, d]` item representations (computed if None).
            training: bool.
            last_only: bool. Only the last position's state, `[batch, 1, d]`: the last block
                runs its feed-forward network and output projection there alone, which is all
                that scoring the next item needs (evaluation and serving). Default False.

        Returns:
            Float `[batch, max_len, d]`, or `[batch, 1, d]` with `last_only`.
        """
        inputs = tf.cast(inputs, tf.int32)
        if items is None:
            items = self.item_representations()
        mask = tf.not_equal(inputs, 0)
        hidden = self.embedding_dropout(tf.gather(items, inputs), training=training)
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            hidden = block(
                hidden, mask=mask, training=training, last_only=last_only and index == last
            )
        return hidden

    def nested_scores(self, hidden, items):
        """Scores of every item at every Matryoshka size from one pass.

        Args:
            hidden: float `[n, d]` hidden states.
            items: float `[num_items + 1, d]` item representations.

        Returns:
            float32 `[len(matryoshka_sizes), n, num_items + 1]`; column 0 is -1e9. Size k's
            scores add block k's partial dot product to size k-1's, so all sizes together cost
            one full-width product.
        """
        hidden = tf.cast(hidden, tf.float32)
        items = tf.cast(items, tf.float32)
        partial, start = [], 0
        for stop in self.matryoshka_sizes:
            partial.append(tf.matmul(hidden[:, start:stop], items[:, start:stop], transpose_b=True))
            start = stop
        scores = tf.cumsum(tf.stack(partial), axis=0)
        padding = tf.one_hot(0, self.num_items + 1, on_value=_PADDING_LOGIT, off_value=0.0)
        return scores + padding

    def scores(self, hidden, items):
        """Scores of every item at this model's full width only (what one deployed size needs).

        Args:
            hidden: float `[n, d]` hidden states.
            items: float `[num_items + 1, d]` item representations.

        Returns:
            float32 `[n, num_items + 1]`; column 0 is -1e9. One product, where `nested_scores`
            also computes every smaller size.
        """
        scores = tf.matmul(
            tf.cast(hidden, tf.float32), tf.cast(items, tf.float32), transpose_b=True
        )
        padding = tf.one_hot(0, tf.shape(items)[0], on_value=_PADDING_LOGIT, off_value=0.0)
        return scores + padding

    def call(self, inputs, training=None):
        items = self.item_representations()
        hidden = self.encode(inputs, items, training=training, last_only=True)
        scores = self.nested_scores(hidden[:, -1], items)
        return tf.transpose(scores, [1, 0, 2])

    # --- Training -----------------------------------------------------------------------------

    def nested_loss(self, inputs, labels, training=None):
        """Full-softmax cross-entropy of the next item, averaged over positions and sizes.

        Args:
            inputs: int `[batch, max_len]` left-padded histories.
            labels: int `[batch, max_len]` next item at each position, 0 where ignored.

        Returns:
            float32 scalar, in nats: the mean over the labelled positions, then over the sizes
            (0, with zero gradients, when `labels` has none).
        """
        items = self.item_representations()
        hidden, targets = labelled_states(self.encode(inputs, items, training=training), labels)
        # Score real items only (drop the padding row) so no padding logit is materialised.
        items = tf.cast(items[1:], tf.float32)
        # Cross-entropy as logsumexp(logits) - logit of the target: the same value as
        # `sparse_softmax_cross_entropy_with_logits`, whose CPU kernel also computes the full
        # softmax gradient in the forward pass; this form runs about twice as fast here and its
        # gradient is the same softmax minus one-hot.
        target_products = hidden * tf.gather(items, targets)
        # Running sum over blocks: size k's logits = size k-1's + block k's partial product.
        logits, start, losses = None, 0, []
        for stop in self.matryoshka_sizes:
            block = tf.matmul(hidden[:, start:stop], items[:, start:stop], transpose_b=True)
            logits = block if logits is None else logits + block
            target_logits = tf.reduce_sum(target_products[:, :stop], axis=-1)
            losses.append(mean_next_item_cross_entropy(logits, target_logits))
            start = stop
        return tf.add_n(losses) / len(losses)

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            loss = self.nested_loss(inputs, labels, training=True)
            scaled = (
                self.optimizer.get_scaled_loss(loss)
                if hasattr(self.optimizer, "get_scaled_loss")
                else loss
            )
        gradients = tape.gradient(scaled, self.trainable_variables)
        if hasattr(self.optimizer, "get_unscaled_gradients"):
            gradients = self.optimizer.get_unscaled_gradients(gradients)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        inputs, labels = data
        self.loss_tracker.update_state(self.nested_loss(inputs, labels, training=False))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_items": self.num_items,
                "matryoshka_sizes": list(self.matryoshka_sizes),
                "item_id_embedding_dim": self.item_id_embedding_dim,
                "text_feature_dim": self.text_feature_dim,
                "image_feature_dim": self.image_feature_dim,
                "num_blocks": self.num_blocks,
                "feed_forward_multiplier": self.feed_forward_multiplier,
                "dropout": self.dropout,
                "r_min": self.r_min,
                "r_max": self.r_max,
                "max_phase": self.max_phase,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def sliced(self, size: int) -> "FMRLRec":
        """A separate, smaller FMRLRec holding the first `size` features of every weight.

        Because all weights are nested, its scores equal this model's scores at that
        Matryoshka size; it runs at width `size` (the model fMRLRec deploys). Its
        `MatryoshkaDense` kernels have their block masks folded in (`fold_block_mask`), so
        inference skips the masking; `size` may be the largest size (a deployable copy).

        Args:
            size: int. One of `matryoshka_sizes`.

        Returns:
            A built `FMRLRec` with Matryoshka sizes up to `size`.

        Raises:
            ValueError: if `size` is not a Matryoshka size or the model is not built.
        """
        if size not in self.matryoshka_sizes:
            raise ValueError(
                f"size {size} is not one of the Matryoshka sizes {self.matryoshka_sizes}."
            )
        if not self.built:
            raise ValueError("Call the model once (build it) before slicing it.")
        config = self.get_config()
        config["matryoshka_sizes"] = [m for m in self.matryoshka_sizes if m <= size]
        config["name"] = f"{self.name}_size_{size}"
        small = type(self).from_config(config)
        small(tf.zeros([1, 2], tf.int64))
        for target, source in zip(small.weights, self.weights):
            prefix = tuple(slice(0, n) for n in target.shape)
            target.assign(tf.convert_to_tensor(source)[prefix])
        for layer in small.submodules:
            if isinstance(layer, MatryoshkaDense):
                layer.fold_block_mask()  # inference skips the per-call block masks
        return small
