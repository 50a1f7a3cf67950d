"""Linear Recurrent Unit (LRU): a diagonal complex linear recurrence computed by a parallel scan."""

import math

from tfrec.layers.matryoshka_dense import MatryoshkaDense, check_matryoshka_sizes
from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


def fresh_initializer(initializer):
    """A new instance of a Keras initializer with the same configuration.

    An unseeded tf_keras initializer instance returns the same values at every call, so each
    weight that should get its own draw needs its own instance.
    """
    return keras.initializers.deserialize(keras.initializers.serialize(initializer))


def _complex_multiply(a_re, a_im, b_re, b_im):
    return a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re


def diagonal_linear_scan(inputs_re, inputs_im, decay_re, decay_im):
    """Computes ``h_t = decay * h_{t-1} + u_t`` (complex, elementwise) with ``h_{-1} = 0``.

    Recursive doubling (Hillis and Steele): after the step with shift ``s``, ``h_t`` holds
    ``sum_{j < 2s} decay^j u_{t-j}``; ``ceil(log2 L)`` steps give the full recurrence, so the
    depth is O(log L) and each step is one shifted elementwise multiply-add over the whole
    sequence. Complex numbers are carried as (real, imaginary) pairs of float tensors.

    Args:
        inputs_re, inputs_im: float tensors `[batch, length, state]`; `length` must be static.
        decay_re, decay_im: float tensors `[state]`, the diagonal of the transition matrix.

    Returns:
        (states_re, states_im), each `[batch, length, state]`.

    Raises:
        ValueError: if the sequence length is not known statically.
    """
    length = inputs_re.shape[1]
    if length is None:
        raise ValueError("The LRU parallel scan needs a static sequence length (got None).")
    h_re, h_im = inputs_re, inputs_im
    power_re, power_im = decay_re, decay_im  # decay^shift
    shift = 1
    while shift < length:
        padding = [[0, 0], [shift, 0], [0, 0]]
        previous_re = tf.pad(h_re[:, :-shift], padding)
        previous_im = tf.pad(h_im[:, :-shift], padding)
        add_re, add_im = _complex_multiply(power_re, power_im, previous_re, previous_im)
        h_re, h_im = h_re + add_re, h_im + add_im
        power_re, power_im = _complex_multiply(power_re, power_im, power_re, power_im)
        shift *= 2
    return h_re, h_im


@register_serializable
class LinearRecurrentUnit(keras.layers.Layer):
    """Linear Recurrent Unit of Orvieto et al. (2023), optionally with Matryoshka-nested weights.

    For each position t (causal, left to right)::

        h_t = diag(lambda) h_{t-1} + gamma * (B x_t),   y_t = Re(C h_t) + D * x_t

    with complex diagonal ``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (so ``|lambda| < 1``
    for any parameter value) and normalisation ``gamma = exp(gamma_log)``. Initialisation follows
    the paper's ring: ``|lambda|`` uniform on the ring between `r_min` and `r_max` (uniform in
    ``|lambda|^2``), phase uniform in ``[0, max_phase)``, ``gamma_log = log sqrt(1 - |lambda|^2)``.
    The complex state has `state_multiplier` times the input width, B (width -> state) and C
    (state -> width) are complex and D is a diagonal (elementwise) skip, which `use_skip=False`
    leaves out (LRURec's layer: its block adds the identity residual instead).

    The recurrence is computed by a parallel scan of depth ``ceil(log2 L)`` (see
    `diagonal_linear_scan`). Positions where `mask` is False contribute no input to the state and
    produce zero output, so padding (e.g. left padding of short histories) never leaks into real
    positions.

    With `matryoshka_sizes`, B and C are block-lower-triangular (`MatryoshkaDense`); since the
    recurrence and D are diagonal, the first ``m`` output features then depend only on the first
    ``m`` input features, and slicing every weight to its first ``m`` entries gives the size-m
    LRU (fMRLRec, Wang et al. 2024). With a state multiplier s the state prefix ``s m`` belongs
    to size m. With a single size (None) B and C are plain dense maps.

    Args:
        matryoshka_sizes: sequence of int or None. Nested sizes; the last must equal the input
            width. None: plain dense B and C.
        r_min: float in [0, 1). Smallest initial eigenvalue modulus. Default 0.0.
        r_max: float in (r_min, 1]. Largest initial eigenvalue modulus. Default 1.0 (Orvieto
            et al.). LRURec (Yue et al., reference code yueqirex/LRURec) initialises on the
            ring r in [0.8, 0.99], the default of `tfrec.models.LRURec`; fMRLRec's reference
            (yueqirex/fMRLRec) uses [0.0, 0.1], the default of tfrec's fMRLRec blocks.
        max_phase: float. Initial phases are drawn in ``[0, max_phase)`` radians. Default 2*pi.
        use_bias: bool. Biases in B and C. Default True.
        dropout: float. Dropout rate on the output. Default 0.0.
        state_multiplier: int. The complex state has this many times the input width (and
            each Matryoshka size). Default 1; LRURec's is 2.
        use_skip: bool. Add the learned elementwise skip ``D * x_t``. Default True.
        kernel_initializer, bias_initializer: initializers of B and C (real and imaginary
            parts each get their own draw; pass unseeded initializers). Defaults
            ``"glorot_uniform"`` and ``"zeros"``; LRURec draws both from a truncated normal
            with standard deviation 0.02.
        **kwargs: base `Layer` arguments.

    Call arguments:
        inputs: float tensor `[batch, length, width]`, static `length`.
        mask: optional bool tensor `[batch, length]`, True at real positions.
        training: bool, enables dropout.
        last_only: bool. Return only the last position, `[batch, 1, width]`: the scan still
            covers every position, but the output projection runs once instead of `length`
            times (what scoring the next item needs). Default False.

    Returns:
        Float tensor `[batch, length, width]` (`[batch, 1, width]` with `last_only`) in the
        layer's compute dtype; the recurrence itself always runs in float32.

    Raises:
        ValueError: bad radii or state multiplier, sizes not ending at the input width, or
            non-static length.

    References:
        - [Orvieto et al., 2023](https://arxiv.org/abs/2303.06349). Resurrecting Recurrent Neural
          Networks for Long Sequences. ICML.
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation (LRURec). WSDM.
    """

    def __init__(
        self,
        matryoshka_sizes=None,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
        use_bias: bool = True,
        dropout: float = 0.0,
        state_multiplier: int = 1,
        use_skip: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= r_min < r_max <= 1.0:
            raise ValueError(f"Need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}.")
        if int(state_multiplier) < 1:
            raise ValueError(f"`state_multiplier` must be >= 1, got {state_multiplier}.")
        # === Config ===
        self.matryoshka_sizes = (
            None if matryoshka_sizes is None else check_matryoshka_sizes(matryoshka_sizes)
        )
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.max_phase = float(max_phase)
        self.use_bias = use_bias
        self.dropout = float(dropout)
        self.state_multiplier = int(state_multiplier)
        self.use_skip = bool(use_skip)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        width = int(input_shape[-1])
        sizes = self.matryoshka_sizes or [width]
        if sizes[-1] != width:
            raise ValueError(
                f"{self.name}: last Matryoshka size {sizes[-1]} differs from input width {width}."
            )
        state_sizes = [size * self.state_multiplier for size in sizes]
        state = state_sizes[-1]

        # === Layers ===
        def dense(name, output_sizes, input_sizes, bias):
            # A fresh initializer per layer: a reused unseeded Keras initializer repeats its
            # values, which would make the real and imaginary parts equal.
            return MatryoshkaDense(
                output_sizes,
                input_sizes,
                use_bias=bias,
                kernel_initializer=fresh_initializer(self.kernel_initializer),
                bias_initializer=fresh_initializer(self.bias_initializer),
                name=name,
                dtype=self.dtype_policy,
            )

        self.input_projection_re = dense("input_projection_re", state_sizes, sizes, self.use_bias)
        self.input_projection_im = dense("input_projection_im", state_sizes, sizes, self.use_bias)
        self.output_projection_re = dense("output_projection_re", sizes, state_sizes, self.use_bias)
        self.output_projection_im = dense("output_projection_im", sizes, state_sizes, False)
        self.input_projection_re.build(tf.TensorShape([None, None, width]))
        self.input_projection_im.build(tf.TensorShape([None, None, width]))
        self.output_projection_re.build(tf.TensorShape([None, None, state]))
        self.output_projection_im.build(tf.TensorShape([None, None, state]))
        self.output_dropout = keras.layers.Dropout(self.dropout)

        r_min_sq, r_max_sq = self.r_min**2, self.r_max**2

        def nu_log_init(shape, dtype=None):
            # |lambda|^2 uniform on [r_min^2, r_max^2]; nu = -log|lambda|. Clipped away from 0.
            u = tf.random.uniform(shape, 1e-6, 1.0)
            modulus_sq = tf.maximum(u * (r_max_sq - r_min_sq) + r_min_sq, 1e-12)
            return tf.math.log(-0.5 * tf.math.log(modulus_sq))

        def theta_log_init(shape, dtype=None):
            return tf.math.log(tf.random.uniform(shape, 1e-6, 1.0) * self.max_phase)

        self.nu_log = self.add_weight("nu_log", shape=(state,), initializer=nu_log_init)
        self.theta_log = self.add_weight("theta_log", shape=(state,), initializer=theta_log_init)
        nu_log = tf.convert_to_tensor(self.nu_log)

        def gamma_log_init(shape, dtype=None):
            # gamma = sqrt(1 - |lambda|^2) keeps the state variance of white-noise input at 1.
            return 0.5 * tf.math.log(-tf.math.expm1(-2.0 * tf.exp(tf.cast(nu_log, tf.float32))))

        self.gamma_log = self.add_weight("gamma_log", shape=(state,), initializer=gamma_log_init)
        self.skip = (
            self.add_weight("skip", shape=(width,), initializer="random_normal")
            if self.use_skip
            else None
        )
        super().build(input_shape)

    def eigenvalues(self):
        """Returns (real, imaginary) parts of the diagonal lambda, float32 `[state]`."""
        nu = tf.exp(tf.cast(self.nu_log, tf.float32))
        theta = tf.exp(tf.cast(self.theta_log, tf.float32))
        modulus = tf.exp(-nu)
        return modulus * tf.cos(theta), modulus * tf.sin(theta)

    def call(self, inputs, mask=None, training=None, last_only=False):
        if mask is None:
            real = None
        else:
            real = tf.cast(mask, tf.float32)[..., tf.newaxis]
        gamma = tf.exp(tf.cast(self.gamma_log, tf.float32))
        u_re = tf.cast(self.input_projection_re(inputs), tf.float32) * gamma
        u_im = tf.cast(self.input_projection_im(inputs), tf.float32) * gamma
        if real is not None:
            u_re, u_im = u_re * real, u_im * real
        decay_re, decay_im = self.eigenvalues()
        h_re, h_im = diagonal_linear_scan(u_re, u_im, decay_re, decay_im)
        if last_only:
            h_re, h_im, inputs = h_re[:, -1:], h_im[:, -1:], inputs[:, -1:]
            real = None if real is None else real[:, -1:]
        h_re = tf.cast(h_re, self.compute_dtype)
        h_im = tf.cast(h_im, self.compute_dtype)
        outputs = self.output_projection_re(h_re) - self.output_projection_im(h_im)
        if self.skip is not None:
            outputs = outputs + tf.cast(inputs, self.compute_dtype) * tf.cast(
                self.skip, self.compute_dtype
            )
        if real is not None:
            outputs = outputs * tf.cast(real, self.compute_dtype)
        return self.output_dropout(outputs, training=training)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "matryoshka_sizes": None
                if self.matryoshka_sizes is None
                else list(self.matryoshka_sizes),
                "r_min": self.r_min,
                "r_max": self.r_max,
                "max_phase": self.max_phase,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "state_multiplier": self.state_multiplier,
                "use_skip": self.use_skip,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
