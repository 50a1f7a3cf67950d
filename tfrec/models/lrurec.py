"""LRURec: a sequential recommender of item ids built from Linear Recurrent Units."""

import math

from tfrec.layers.linear_recurrent_block import LinearRecurrentBlock
from tfrec.losses.next_item_loss import labelled_states, mean_next_item_cross_entropy
from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras

# Logit given to the padding index so that it is never predicted (finite: keeps softmax NaN-free).
_PADDING_LOGIT = -1e9


@register_serializable
class LRURec(keras.Model):
    """LRURec: linear recurrent units over a user's item-id history (Yue et al., 2024).

    An item-id embedding (index 0 is padding) goes through dropout and then a layer norm, then
    through `num_blocks` post-norm `LinearRecurrentBlock`s, each
    ``x = LN(x + LRU(x)); x = LN(x + dropout(W_2 dropout(gelu(W_1 x))))`` with a complex LRU
    state of `state_multiplier` times the width, no learned skip D, and a GELU feed-forward of
    `feed_forward_multiplier` times the width. The score of item ``i`` is the dot product of the
    last hidden state with item ``i``'s embedding (tied input and output item matrix) plus a
    per-item output bias. Training minimises the full-softmax cross-entropy of the next item at
    every position of the history. Every weight except the layer norms and the LRU's ring
    parameters (``nu_log``, ``theta_log``, ``gamma_log``) starts from a normal distribution
    truncated at two standard deviations of `initializer_stddev`, as the reference code does.

    This is LRURec itself, not fMRLRec's ID-only ablation (`tfrec.models.FMRLRec` with only
    ``item_id_embedding_dim``: pre-norm SiLU-gated blocks on a projected embedding, no bias).

    Item indices are 1-based; 0 is padding and is never recommended.

    Args:
        num_items: int. Number of items I (indices 1..I).
        width: int. Embedding and hidden width d. Default 64.
        num_blocks: int. Number of LRU blocks. Default 2.
        dropout: float. Dropout on the item embeddings, the LRU outputs and in the feed-forward
            networks. Default 0.2.
        r_min, r_max: floats. Ring of the LRU's eigenvalue moduli at initialisation. Defaults
            0.8 and 0.99 (the reference's).
        max_phase: float. Initial LRU phases are drawn in ``[0, max_phase)`` radians. Default
            2*pi.
        state_multiplier: int. LRU state size as a multiple of `width`. Default 2.
        feed_forward_multiplier: int. Feed-forward hidden size as a multiple of `width`.
            Default 4.
        initializer_stddev: float. Standard deviation of the truncated-normal initialisation.
            Default 0.02.
        **kwargs: base `Model` arguments.

    Call arguments:
        inputs: int tensor `[batch, max_len]` of item indices, left-padded with 0; static
            `max_len`.
        training: bool. Dropout on when True.

    Returns:
        float32 scores (logits) `[batch, num_items + 1]` of the item after the last position;
        column 0 (padding) is -1e9.

    Raises:
        ValueError: if `num_items`, `width`, `num_blocks`, `state_multiplier` or
            `feed_forward_multiplier` is < 1, unless ``0 <= r_min < r_max <= 1``, or if
            `dropout` is outside [0, 1].

    Example:
        >>> import numpy as np
        >>> from tfrec.data.sequences import next_item_examples, training_dataset
        >>> model = LRURec(num_items=100, width=16)
        >>> model.compile(optimizer=keras.optimizers.AdamW(1e-3))
        >>> inputs, labels = next_item_examples([np.arange(1, 9), np.arange(20, 26)], max_len=6)
        >>> history = model.fit(training_dataset(inputs, labels, batch_size=2), epochs=1,
        ...                     verbose=0)
        >>> model(inputs).shape  # [batch, items + padding]
        TensorShape([2, 101])

    References:
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation. WSDM. Reference code: github.com/yueqirex/LRURec.
        - [Orvieto et al., 2023](https://arxiv.org/abs/2303.06349). Resurrecting Recurrent Neural
          Networks for Long Sequences. ICML.
    """

    def __init__(
        self,
        num_items: int,
        width: int = 64,
        num_blocks: int = 2,
        dropout: float = 0.2,
        r_min: float = 0.8,
        r_max: float = 0.99,
        max_phase: float = 2 * math.pi,
        state_multiplier: int = 2,
        feed_forward_multiplier: int = 4,
        initializer_stddev: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("num_items", num_items), ("width", width), ("num_blocks", num_blocks)):
            if int(value) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {value}.")

        # === Config ===
        self.num_items = int(num_items)
        self.width = int(width)
        self.num_blocks = int(num_blocks)
        self.dropout = float(dropout)
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.max_phase = float(max_phase)
        self.state_multiplier = int(state_multiplier)
        self.feed_forward_multiplier = int(feed_forward_multiplier)
        self.initializer_stddev = float(initializer_stddev)

        # === Layers ===
        def initializer():
            # One instance per weight: an unseeded tf_keras initializer repeats its values.
            return keras.initializers.TruncatedNormal(stddev=self.initializer_stddev)

        rows = self.num_items + 1
        self.item_embeddings = self.add_weight(
            "item_embeddings", shape=(rows, self.width), initializer=initializer()
        )
        self.item_bias = self.add_weight("item_bias", shape=(rows,), initializer=initializer())
        self.embedding_dropout = keras.layers.Dropout(self.dropout)
        # PyTorch's LayerNorm epsilon, as in the reference.
        self.embedding_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="embedding_norm")
        self.blocks = [
            LinearRecurrentBlock(
                [self.width],
                feed_forward_multiplier=self.feed_forward_multiplier,
                dropout=self.dropout,
                r_min=self.r_min,
                r_max=self.r_max,
                max_phase=self.max_phase,
                norm_placement="post",
                feed_forward="gelu",
                state_multiplier=self.state_multiplier,
                use_skip=False,
                kernel_initializer=initializer(),
                bias_initializer=initializer(),
                name=f"block_{index}",
            )
            for index in range(self.num_blocks)
        ]
        self.loss_tracker = keras.metrics.Mean(name="loss")

    # --- Forward pass -------------------------------------------------------------------------

    def item_representations(self):
        """The item embedding table, float32 `[num_items + 1, width]` (row 0: padding)."""
        return tf.cast(tf.convert_to_tensor(self.item_embeddings), tf.float32)

    def embed(self, inputs, items, training=None):
        """The blocks' input: ``LN(dropout(items[inputs]))``.

        Dropout comes before the norm, as in the reference's ``LRUEmbedding``.

        Args:
            inputs: int `[batch, max_len]` item indices, 0 for padding.
            items: float `[num_items + 1, width]` item embeddings.
            training: bool. Dropout on when True.

        Returns:
            Tensor `[batch, max_len, width]` in the compute dtype.
        """
        hidden = tf.gather(tf.cast(items, self.compute_dtype), tf.cast(inputs, tf.int32))
        return self.embedding_norm(self.embedding_dropout(hidden, training=training))

    def encode(self, inputs, items=None, training=None, last_only=False):
        """Hidden states of a left-padded index history.

        Args:
            inputs: int `[batch, max_len]` indices, 0 for padding.
            items: optional float `[num_items + 1, width]` item embeddings (the model's own if
                None).
            training: bool. Dropout on when True.
            last_only: bool. Only the last position's state, `[batch, 1, width]`: the last
                block runs its feed-forward network and output projection there alone.

        Returns:
            Tensor `[batch, max_len, width]` in the compute dtype, or `[batch, 1, width]` with
            `last_only`.
        """
        inputs = tf.cast(inputs, tf.int32)
        if items is None:
            items = self.item_representations()
        mask = tf.not_equal(inputs, 0)
        hidden = self.embed(inputs, items, training=training)
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            hidden = block(
                hidden, mask=mask, training=training, last_only=last_only and index == last
            )
        return hidden

    def scores(self, hidden, items):
        """Scores of every item: ``hidden . items^T + item_bias``.

        Args:
            hidden: float `[n, width]` hidden states.
            items: float `[num_items + 1, width]` item embeddings.

        Returns:
            float32 `[n, num_items + 1]`; column 0 is -1e9.
        """
        scores = tf.matmul(
            tf.cast(hidden, tf.float32), tf.cast(items, tf.float32), transpose_b=True
        )
        scores = scores + tf.cast(self.item_bias, tf.float32)
        padding = tf.one_hot(0, tf.shape(items)[0], on_value=_PADDING_LOGIT, off_value=0.0)
        return scores + padding

    def call(self, inputs, training=None):
        items = self.item_representations()
        hidden = self.encode(inputs, items, training=training, last_only=True)
        return self.scores(hidden[:, -1], items)

    # --- Training -----------------------------------------------------------------------------

    def next_item_loss(self, inputs, labels, training=None):
        """Full-softmax cross-entropy of the next item, averaged over the labelled positions.

        The softmax runs over the real items only: the padding index is never a target, where
        the reference also keeps its column in the softmax.

        Args:
            inputs: int `[batch, max_len]` left-padded item indices.
            labels: int `[batch, max_len]` next item index at each position, 0 where ignored.
            training: bool. Dropout on when True.

        Returns:
            float32 scalar, in nats: the mean over the positions with a label (0, with zero
            gradients, when `labels` has none).
        """
        items = self.item_representations()
        hidden, targets = labelled_states(self.encode(inputs, items, training=training), labels)
        items, bias = items[1:], tf.cast(self.item_bias, tf.float32)[1:]
        logits = tf.matmul(hidden, items, transpose_b=True) + bias
        # logsumexp - target logit: the value and gradient of the sparse softmax cross-entropy,
        # faster on CPU (see FMRLRec.nested_loss).
        target_logits = tf.reduce_sum(hidden * tf.gather(items, targets), axis=-1)
        target_logits += tf.gather(bias, targets)
        return mean_next_item_cross_entropy(logits, target_logits)

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            loss = self.next_item_loss(inputs, labels, training=True)
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
        self.loss_tracker.update_state(self.next_item_loss(inputs, labels, training=False))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_items": self.num_items,
                "width": self.width,
                "num_blocks": self.num_blocks,
                "dropout": self.dropout,
                "r_min": self.r_min,
                "r_max": self.r_max,
                "max_phase": self.max_phase,
                "state_multiplier": self.state_multiplier,
                "feed_forward_multiplier": self.feed_forward_multiplier,
                "initializer_stddev": self.initializer_stddev,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
