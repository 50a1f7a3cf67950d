"""Layer normalisation applied block by block, so every feature prefix is normalised on its own."""

from tfrec.layers.matryoshka_dense import check_matryoshka_sizes
from tfrec.utils.serialization import register_serializable

import numpy as np
import tensorflow as tf
import tf_keras as keras


@register_serializable
class MatryoshkaLayerNormalization(keras.layers.Layer):
    """Nested layer normalisation over the blocks between consecutive Matryoshka sizes.

    For sizes ``m_1 < ... < m_K`` the features ``[m_{k-1}, m_k)`` form block k and are normalised
    with their own mean and variance and their own scale and offset (fMRLRec's ``MRLLayerNorm``).
    A plain layer norm over all features would let the later features change the first ``m_k``
    outputs; here the first ``m_k`` outputs depend only on the first ``m_k`` inputs.

    Args:
        matryoshka_sizes: sequence of int. Strictly increasing sizes; the last is the feature width.
        epsilon: float. Added to the variance. Default 1e-5.
        **kwargs: base `Layer` arguments.

    Call arguments:
        inputs: float tensor `[..., matryoshka_sizes[-1]]`.

    Returns:
        Tensor of the same shape and dtype. Statistics are computed in float32.

    Raises:
        ValueError: bad sizes, or an input width different from ``matryoshka_sizes[-1]``.

    References:
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
    """

    def __init__(self, matryoshka_sizes, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.matryoshka_sizes = check_matryoshka_sizes(matryoshka_sizes)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        width = input_shape[-1]
        if width != self.matryoshka_sizes[-1]:
            raise ValueError(
                f"{self.name}: input width {width} differs from the last Matryoshka size "
                f"{self.matryoshka_sizes[-1]}."
            )
        self.gamma = self.add_weight("gamma", shape=(width,), initializer="ones")
        self.beta = self.add_weight("beta", shape=(width,), initializer="zeros")
        # membership[i, k] = 1 when feature i is in block k; block means are one matmul.
        membership = np.zeros((width, len(self.matryoshka_sizes)), np.float32)
        start = 0
        for k, stop in enumerate(self.matryoshka_sizes):
            membership[start:stop, k] = 1.0 / (stop - start)
            start = stop
        self._block_average = tf.constant(membership)
        self._block_spread = tf.constant((membership > 0).T.astype(np.float32))
        super().build(input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        mean = tf.tensordot(x, self._block_average, axes=[[-1], [0]])
        centred = x - tf.tensordot(mean, self._block_spread, axes=[[-1], [0]])
        variance = tf.tensordot(tf.square(centred), self._block_average, axes=[[-1], [0]])
        scale = tf.math.rsqrt(variance + self.epsilon)
        normalised = centred * tf.tensordot(scale, self._block_spread, axes=[[-1], [0]])
        outputs = normalised * tf.cast(self.gamma, tf.float32) + tf.cast(self.beta, tf.float32)
        return tf.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"matryoshka_sizes": list(self.matryoshka_sizes), "epsilon": self.epsilon})
        return config
