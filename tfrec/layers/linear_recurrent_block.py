"""Residual block of a Linear Recurrent Unit followed by a position-wise feed-forward network."""

import math

from tfrec.layers.linear_recurrent_unit import LinearRecurrentUnit, fresh_initializer
from tfrec.layers.matryoshka_dense import MatryoshkaDense, check_matryoshka_sizes
from tfrec.layers.matryoshka_layer_normalization import MatryoshkaLayerNormalization
from tfrec.utils.serialization import register_serializable

import tf_keras as keras

NORM_PLACEMENTS = ("pre", "post")
FEED_FORWARDS = ("silu_gated", "gelu")


@register_serializable
class LinearRecurrentBlock(keras.layers.Layer):
    """An LRU sub-layer and a feed-forward sub-layer, each residual, all weights Matryoshka-nested.

    Two published blocks, chosen by `norm_placement` and `feed_forward`:

    - fMRLRec's (the defaults: pre-norm, SiLU-gated feed-forward, the layout of
      yueqirex/fMRLRec's ``LRUBlock``; its LRU keeps Orvieto et al.'s skip D, which the
      reference leaves out)::

          x = x + LRU(LN_1(x))
          x = x + dropout(W_2(silu(W_g LN_2(x)) * dropout(W_1 LN_2(x))))

    - LRURec's (``norm_placement="post"``, ``feed_forward="gelu"``, ``feed_forward_multiplier=4``,
      ``state_multiplier=2``, ``use_skip=False``, as yueqirex/LRURec's ``LRUBlock``)::

          x = LN_1(x + LRU(x))
          x = LN_2(x + dropout(W_2 dropout(gelu(W_1 x))))

    where ``LRU`` ends with its own output dropout. Every dense map is a `MatryoshkaDense` and
    each layer norm a `MatryoshkaLayerNormalization`, so the first ``m`` output features depend
    only on the first ``m`` input features for each Matryoshka size ``m``; with a single size
    they are a plain dense layer and a plain layer norm (epsilon 1e-5, PyTorch's default).

    Args:
        matryoshka_sizes: sequence of int. Nested sizes; the last is the block width.
        feed_forward_multiplier: int. The feed-forward hidden sizes are this multiple of the
            Matryoshka sizes. Default 1 (fMRLRec's square layers); LRURec's is 4.
        dropout: float. Dropout rate in the feed-forward network and on the LRU output.
        r_min, r_max, max_phase: ring initialisation of the LRU (see `LinearRecurrentUnit`).
        use_bias: bool. Biases in every dense map. Default True.
        norm_placement: "pre" (normalise each sub-layer's input, the residual stream is not
            normalised) or "post" (normalise the sum of each residual). Default "pre".
        feed_forward: "silu_gated" (``W_2(silu(W_g x) * dropout(W_1 x))``) or "gelu"
            (``W_2 dropout(gelu(W_1 x))``, exact erf GELU). Default "silu_gated".
        state_multiplier: int. LRU state size as a multiple of the width. Default 1.
        use_skip: bool. The LRU's learned elementwise skip ``D * x``. Default True.
        kernel_initializer, bias_initializer: initializers of every dense map (the LRU's B and
            C included); each weight gets its own draw. Defaults ``"glorot_uniform"``, ``"zeros"``.
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
        ValueError: bad sizes, multiplier, norm placement or feed-forward kind.

    References:
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation. WSDM.
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
        norm_placement: str = "pre",
        feed_forward: str = "silu_gated",
        state_multiplier: int = 1,
        use_skip: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(feed_forward_multiplier) < 1:
            raise ValueError(
                f"`feed_forward_multiplier` must be >= 1, got {feed_forward_multiplier}."
            )
        if norm_placement not in NORM_PLACEMENTS:
            raise ValueError(
                f"`norm_placement` must be one of {NORM_PLACEMENTS}, got {norm_placement!r}."
            )
        if feed_forward not in FEED_FORWARDS:
            raise ValueError(
                f"`feed_forward` must be one of {FEED_FORWARDS}, got {feed_forward!r}."
            )
        # === Config ===
        self.matryoshka_sizes = check_matryoshka_sizes(matryoshka_sizes)
        self.feed_forward_multiplier = int(feed_forward_multiplier)
        self.dropout = float(dropout)
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.max_phase = float(max_phase)
        self.use_bias = use_bias
        self.norm_placement = norm_placement
        self.feed_forward = feed_forward
        self.state_multiplier = int(state_multiplier)
        self.use_skip = bool(use_skip)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

        # === Layers ===
        sizes = self.matryoshka_sizes
        hidden = [size * self.feed_forward_multiplier for size in sizes]
        policy = self.dtype_policy

        def dense(output_sizes, input_sizes, name):
            return MatryoshkaDense(
                output_sizes,
                input_sizes,
                use_bias,
                kernel_initializer=fresh_initializer(self.kernel_initializer),
                bias_initializer=fresh_initializer(self.bias_initializer),
                name=name,
                dtype=policy,
            )

        self.recurrence_norm = MatryoshkaLayerNormalization(
            sizes, name="recurrence_norm", dtype=policy
        )
        self.recurrence = LinearRecurrentUnit(
            sizes,
            r_min,
            r_max,
            max_phase,
            use_bias,
            dropout,
            state_multiplier=self.state_multiplier,
            use_skip=self.use_skip,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            name="recurrence",
            dtype=policy,
        )
        self.feed_forward_norm = MatryoshkaLayerNormalization(
            sizes, name="feed_forward_norm", dtype=policy
        )
        self.gate = dense(hidden, sizes, "gate") if feed_forward == "silu_gated" else None
        self.expand = dense(hidden, sizes, "expand")
        self.contract = dense(sizes, hidden, "contract")
        self.feed_forward_dropout = keras.layers.Dropout(self.dropout)

    def _feed_forward(self, x, training):
        if self.gate is None:  # LRURec's PositionwiseFeedForward
            hidden = self.feed_forward_dropout(
                keras.activations.gelu(self.expand(x), approximate=False), training=training
            )
        else:
            hidden = keras.activations.swish(self.gate(x)) * self.feed_forward_dropout(
                self.expand(x), training=training
            )
        return self.feed_forward_dropout(self.contract(hidden), training=training)

    def call(self, inputs, mask=None, training=None, last_only=False):
        residual = inputs[:, -1:] if last_only else inputs
        if self.norm_placement == "pre":
            x = residual + self.recurrence(
                self.recurrence_norm(inputs), mask=mask, training=training, last_only=last_only
            )
            return x + self._feed_forward(self.feed_forward_norm(x), training)
        x = self.recurrence_norm(
            residual + self.recurrence(inputs, mask=mask, training=training, last_only=last_only)
        )
        return self.feed_forward_norm(x + self._feed_forward(x, training))

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
                "norm_placement": self.norm_placement,
                "feed_forward": self.feed_forward,
                "state_multiplier": self.state_multiplier,
                "use_skip": self.use_skip,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
