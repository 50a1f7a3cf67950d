"""A dense layer whose every output prefix is a complete, smaller dense layer."""

from tfrec.utils.serialization import register_serializable

import numpy as np
import tensorflow as tf
import tf_keras as keras


def nested_block_mask(input_sizes, output_sizes) -> np.ndarray:
    """Block-lower-triangular 0/1 mask of shape `[input_sizes[-1], output_sizes[-1]]`.

    Output column `j` in block `k` (``output_sizes[k-1] <= j < output_sizes[k]``) may read only
    the first ``input_sizes[k]`` inputs, so the first ``output_sizes[k]`` outputs depend only on
    the first ``input_sizes[k]`` inputs.
    """
    mask = np.zeros((input_sizes[-1], output_sizes[-1]), np.float32)
    start = 0
    for in_size, out_size in zip(input_sizes, output_sizes):
        mask[:in_size, start:out_size] = 1.0
        start = out_size
    return mask


def check_matryoshka_sizes(sizes, name: str = "matryoshka_sizes") -> list:
    """Validates a strictly increasing list of positive int sizes and returns it as a list."""
    sizes = [int(size) for size in sizes]
    if not sizes or sizes[0] < 1 or any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"`{name}` must be strictly increasing positive ints, got {sizes}.")
    return sizes


@register_serializable
class MatryoshkaDense(keras.layers.Layer):
    """Dense layer with nested ("Matryoshka") block-lower-triangular weights.

    For Matryoshka sizes ``m_1 < ... < m_K`` the first ``m_k`` outputs are computed from the first
    ``n_k`` inputs only, where ``n_k`` is the k-th input size (by default the same list, a square
    layer as fMRLRec's ``MRLSquareLinearLayer``). Slicing the kernel to ``[:n_k, :m_k]`` and the
    bias to ``[:m_k]`` therefore gives exactly the size-k layer: one set of weights holds K models.
    The kernel is stored full and multiplied by a constant block mask, so masked entries get zero
    gradient and the layer runs as one matmul. With a single size the mask is all ones and is
    skipped: the layer is a plain dense layer.

    Args:
        matryoshka_sizes: sequence of int. Strictly increasing output prefix sizes; the last is the
            number of output units.
        input_sizes: sequence of int or None. Input prefix size read by each output block, same
            length as `matryoshka_sizes`, strictly increasing; the last must equal the input
            width. Default: `matryoshka_sizes`.
        use_bias: bool. Add a bias vector. Default True.
        kernel_initializer: initializer for the kernel. Default ``"glorot_uniform"``.
        bias_initializer: initializer for the bias. Default ``"zeros"``.
        **kwargs: base `Layer` arguments (name, dtype, ...).

    Call arguments:
        inputs: float tensor `[..., input_sizes[-1]]`.
        training: bool. After `fold_block_mask`, calls with `training=False` skip the mask.

    Returns:
        Float tensor `[..., matryoshka_sizes[-1]]`.

    Raises:
        ValueError: bad sizes, or an input width different from ``input_sizes[-1]``.

    References:
        - [Kusupati et al., 2022](https://arxiv.org/abs/2205.13147). Matryoshka Representation
          Learning. NeurIPS.
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
    """

    def __init__(
        self,
        matryoshka_sizes,
        input_sizes=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Config ===
        self.matryoshka_sizes = check_matryoshka_sizes(matryoshka_sizes)
        self.input_sizes = check_matryoshka_sizes(
            matryoshka_sizes if input_sizes is None else input_sizes, "input_sizes"
        )
        if len(self.input_sizes) != len(self.matryoshka_sizes):
            raise ValueError(
                f"`input_sizes` {self.input_sizes} and `matryoshka_sizes` "
                f"{self.matryoshka_sizes} must have the same length."
            )
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.units = self.matryoshka_sizes[-1]
        self._mask_folded = False

    def build(self, input_shape):
        width = input_shape[-1]
        if width != self.input_sizes[-1]:
            raise ValueError(
                f"{self.name}: input width {width} differs from the last input size "
                f"{self.input_sizes[-1]}."
            )
        self.kernel = self.add_weight(
            "kernel", shape=(width, self.units), initializer=self.kernel_initializer
        )
        self.bias = (
            self.add_weight("bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self._block_mask = tf.constant(nested_block_mask(self.input_sizes, self.matryoshka_sizes))
        super().build(input_shape)

    def fold_block_mask(self):
        """Zeroes the kernel outside its blocks, so that inference skips the per-call mask.

        The layer's outputs are unchanged (the mask removed those entries anyway). Calls with
        `training=False` then multiply by the stored kernel directly: at width 1,024 and batch 1
        the masking, a full pass over the kernel, cost as much as the product itself. Training
        calls still apply the mask, so the folded entries keep a zero gradient and stay zero.
        """
        self.kernel.assign(self.kernel * tf.cast(self._block_mask, self.kernel.dtype))
        self._mask_folded = True

    def call(self, inputs, training=None):
        kernel = self.kernel
        nested = len(self.matryoshka_sizes) > 1
        if nested and not (self._mask_folded and training is False):
            kernel = kernel * tf.cast(self._block_mask, self.kernel.dtype)
        outputs = tf.tensordot(inputs, tf.cast(kernel, inputs.dtype), axes=[[-1], [0]])
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.units])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "matryoshka_sizes": list(self.matryoshka_sizes),
                "input_sizes": list(self.input_sizes),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
