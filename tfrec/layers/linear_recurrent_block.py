"""Residual block of a Linear Recurrent Unit followed by a gated feed-forward network."""

import math

from tfrec.layers.linear_recurrent_unit import LinearRecurrentUnit
from tfrec.layers.matryoshka_dense import MatryoshkaDense, check_matryoshka_sizes
from tfrec.layers.matryoshka_layer_normalization import MatryoshkaLayerNormalization
from tfrec.utils.serialization import register_serializable

import tf_keras as keras


@register_serializable
class LinearRecurrentBlock(keras.layers.Layer):
    """Pre-norm LRU block with a SiLU-gated feed-forward network, all weights Matryoshka-nested.

    ``x = x + LRU(LN_1(x)); x = x + W_2(silu(W_g LN_2(x)) * dropout(W_1 LN_2(x)))``, fMRLRec's
    block (LRURec's own blocks differ: post-norm, with a GELU feed-forward 4 times the width).
    Every dense map is a `MatryoshkaDense` and each layer norm a `MatryoshkaLayerNormalization`,
    so the first ``m`` output features depend only on the first ``m`` input features for each
    Matryoshka size ``m``.

    Args:
        matryoshka_sizes: sequence of int. Nested sizes; the last is the block width.
        feed_forward_multiplier: int. The gated feed-forward hidden sizes are this multiple of
            the Matryoshka sizes. Default 1 (fMRLRec's square layers).
        dropout: float. Dropout rate in the feed-forward network and on the LRU output.
        r_min, r_max, max_phase: ring initialisation of the LRU (see `LinearRecurrentUnit`).
        use_bias: bool. Biases in every dense map. Default True.
        **kwargs: base `Layer` arguments.

    Call arguments:
        inputs: float tensor `[batch, length, width]`, static `length`.
        mask: optional bool tensor `[batch, length]`, True at real positions.
        training: bool.
        last_only: bool. Return only the last position, `[batch, 1, width]`, computing the
            feed-forward network and the LRU's output projection there alone (the same values
            as the last position of the full output). Default False.

    Returns:
        Float tensor `[batch, length, width]` (`[batch, 1, width]` with `last_only`).

    Raises:
        ValueError: bad sizes or multiplier.

    References:
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation. WSDM.
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
    """

    def __init__(
        self,
        matryoshka_sizes,
        feed_forward_multiplier: int = 1,
        dropout: float = 0.1,
        r_min: float = 0.0,
        r_max: float = 0.1,
        max_phase: float = 2 * math.pi,
        use_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(feed_forward_multiplier) < 1:
            raise ValueError(
                f"`feed_forward_multiplier` must be >= 1, got {feed_forward_multiplier}."
            )
        # === Config ===
        self.matryoshka_sizes = check_matryoshka_sizes(matryoshka_sizes)
        self.feed_forward_multiplier = int(feed_forward_multiplier)
        self.dropout = float(dropout)
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.max_phase = float(max_phase)
        self.use_bias = use_bias
        self.supports_masking = True

        # === Layers ===
        sizes = self.matryoshka_sizes
        hidden = [size * self.feed_forward_multiplier for size in sizes]
        policy = self.dtype_policy
        self.recurrence_norm = MatryoshkaLayerNormalization(
            sizes, name="recurrence_norm", dtype=policy
        )
        self.recurrence = LinearRecurrentUnit(
            sizes, r_min, r_max, max_phase, use_bias, dropout, name="recurrence", dtype=policy
        )
        self.feed_forward_norm = MatryoshkaLayerNormalization(
            sizes, name="feed_forward_norm", dtype=policy
        )
        self.gate = MatryoshkaDense(hidden, sizes, use_bias, name="gate", dtype=policy)
        self.expand = MatryoshkaDense(hidden, sizes, use_bias, name="expand", dtype=policy)
        self.contract = MatryoshkaDense(sizes, hidden, use_bias, name="contract", dtype=policy)
        self.feed_forward_dropout = keras.layers.Dropout(self.dropout)

    def call(self, inputs, mask=None, training=None, last_only=False):
        residual = inputs[:, -1:] if last_only else inputs
        x = residual + self.recurrence(
            self.recurrence_norm(inputs), mask=mask, training=training, last_only=last_only
        )
        normed = self.feed_forward_norm(x)
        hidden = keras.activations.swish(self.gate(normed)) * self.feed_forward_dropout(
            self.expand(normed), training=training
        )
        return x + self.feed_forward_dropout(self.contract(hidden), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "matryoshka_sizes": list(self.matryoshka_sizes),
                "feed_forward_multiplier": self.feed_forward_multiplier,
                "dropout": self.dropout,
                "r_min": self.r_min,
                "r_max": self.r_max,
                "max_phase": self.max_phase,
                "use_bias": self.use_bias,
            }
        )
        return config
