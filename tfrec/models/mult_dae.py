"""Mult-DAE: the multinomial denoising autoencoder for collaborative filtering."""

from tfrec.models.autoencoder_recommender import (
    SPARSE_INPUT_MAX_DENSITY,
    AutoencoderRecommender,
    build_dense_chain,
    sparse_input_layer,
    to_sparse_interactions,
    unique_metrics,
)
from tfrec.models.mult_vae import (
    _bias_initializer,
    hidden_dense,
    multinomial_log_likelihood,
    sparse_dropout_input,
)
from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


@register_serializable
class MultDAE(AutoencoderRecommender):
    """Multinomial denoising autoencoder for collaborative filtering (Mult-DAE).

    Dropout corrupts the L2-normalised input; the model reconstructs the multinomial over all
    items. Loss: ``-log p(x | x_corrupted)`` averaged over the global batch plus L2 weight decay
    ``lam * sum w^2`` on the kernels (Sec. 2.3).

    Args:
        num_items: int. Size of the item catalogue I.
        hidden_dims: sequence of int. Encoder hidden widths before the code layer; the decoder
            mirrors them. Default ``()``, the paper's [I-200-I].
        latent_dim: int. Width of the code layer. Default 200.
        dropout_rate: float in [0, 1). Input dropout. Default 0.5.
        activation: str. Hidden activation. Default ``"tanh"``.
        l2_regularization: float. Weight decay lam on the kernels, added to the batch-mean
            loss. Default 2e-5: Liang et al.'s notebook sets ``lam = 0.01 / batch_size`` at
            batch 500 (its loss adds ``2 * l2_regularizer(lam)``, i.e. ``lam * sum w^2``).
        sparse_input_max_density: float. Batches with at most this fraction of non-zeros are
            multiplied by the first layer as sparse tensors, denser ones as dense batches
            (faster there on CPU); same result either way. Default 0.01.
        **kwargs: passed to `keras.Model`.

    Call arguments:
        inputs: `tf.SparseTensor` or dense float tensor `[batch, num_items]`, 0/1 entries.
        training: bool. Applies dropout when True.

    Returns:
        Logits `[batch, num_items]`, float32 even under a mixed precision policy.

    Raises:
        ValueError: if `num_items` or `latent_dim` < 1, or `dropout_rate` is not in [0, 1).

    References:
        - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). Variational Autoencoders for
          Collaborative Filtering. WWW.
    """

    def __init__(
        self,
        num_items: int,
        hidden_dims=(),
        latent_dim: int = 200,
        dropout_rate: float = 0.5,
        activation: str = "tanh",
        l2_regularization: float = 2e-5,
        sparse_input_max_density: float = SPARSE_INPUT_MAX_DENSITY,
        **kwargs,
    ):
        super().__init__(num_items, **kwargs)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}.")
        if not 0.0 <= float(dropout_rate) < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}.")

        # === Layers ===
        regularizer = keras.regularizers.L2(l2_regularization) if l2_regularization else None

        def dense(width, name):
            return hidden_dense(width, name, activation, regularizer)

        self.input_dropout = keras.layers.Dropout(dropout_rate, name="input_dropout")
        widths = tuple(hidden_dims) + (int(latent_dim),) + tuple(reversed(tuple(hidden_dims)))
        self.hidden_layers = [dense(width, f"hidden_{i}") for i, width in enumerate(widths)]
        self.output_logits = keras.layers.Dense(
            self.num_items,
            kernel_regularizer=regularizer,
            bias_initializer=_bias_initializer(),
            dtype="float32",
            name="output_logits",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")

        # === Config ===
        self.hidden_dims = tuple(int(w) for w in hidden_dims)
        self.latent_dim = int(latent_dim)
        self.dropout_rate = float(dropout_rate)
        self.activation = activation
        self.l2_regularization = float(l2_regularization)
        self.sparse_input_max_density = float(sparse_input_max_density)
        self._build_layers()

    def _build_layers(self):
        build_dense_chain(self.hidden_layers + [self.output_logits], self.num_items)

    def call(self, inputs, training=False):
        # L2-normalised, dropped out on the non-zeros; the first layer picks the sparse or the
        # dense product by the batch's density (`sparse_input_layer`).
        x = sparse_dropout_input(self.input_dropout, inputs, self.num_items, training)
        h = sparse_input_layer(self.hidden_layers[0], x, self.sparse_input_max_density)
        for layer in self.hidden_layers[1:]:
            h = layer(h)
        return self.output_logits(h)

    def train_step(self, data):
        inputs = data[0] if isinstance(data, (tuple, list)) else data
        x = to_sparse_interactions(inputs, self.num_items)
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = tf.nn.compute_average_loss(-multinomial_log_likelihood(logits, x))
            if self.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        # `loss` is this replica's share of the global-batch mean; log the per-user mean.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        # Listed so that `fit` resets them each epoch; compiled ranking metrics follow.
        return unique_metrics([self.loss_tracker] + list(super().metrics))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dims": list(self.hidden_dims),
                "latent_dim": self.latent_dim,
                "dropout_rate": self.dropout_rate,
                "activation": self.activation,
                "l2_regularization": self.l2_regularization,
                "sparse_input_max_density": self.sparse_input_max_density,
            }
        )
        return config
