"""Mult-VAE: the multinomial variational autoencoder for collaborative filtering."""

from tfrec.models.autoencoder_recommender import (
    SPARSE_INPUT_MAX_DENSITY,
    AutoencoderRecommender,
    build_dense_chain,
    l2_normalize_rows,
    sparse_input_layer,
    to_sparse_interactions,
    unique_metrics,
)
from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


def multinomial_log_likelihood(logits, interactions):
    """Per-user multinomial log-likelihood ``sum_i x_ui log softmax(logits)_i`` (Eq. 2), float32.

    Args:
        logits: float `[batch, num_items]`.
        interactions: `tf.SparseTensor` or dense float `[batch, num_items]`, the counts x_u. A
            sparse batch is read at its non-zeros only: ``sum_nz x_ui logit_ui - n_u
            logsumexp(logits_u)`` with ``n_u = sum_i x_ui``, the same quantity without a dense
            `[batch, num_items]` product.

    Returns:
        float32 `[batch]`.
    """
    logits = tf.cast(logits, tf.float32)
    if not isinstance(interactions, tf.SparseTensor):
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        return tf.reduce_sum(log_probs * tf.cast(interactions, tf.float32), axis=-1)
    values = tf.cast(interactions.values, tf.float32)
    rows = interactions.indices[:, 0]
    num_rows = tf.shape(logits, out_type=tf.int64)[0]
    picked = tf.math.unsorted_segment_sum(
        values * tf.gather_nd(logits, interactions.indices), rows, num_rows
    )
    counts = tf.math.unsorted_segment_sum(values, rows, num_rows)
    return picked - counts * tf.reduce_logsumexp(logits, axis=-1)


def sparse_dropout_input(layer_dropout, inputs, num_items, training):
    """L2-normalises each row of a batch and applies dropout to its non-zero values.

    The paper's input order (normalise, then drop out), computed on the non-zeros of a sparse
    batch: dropout zeroes entries and rescales the kept ones by ``1 / (1 - rate)``, and a zero
    entry stays zero either way, so dropping out the non-zero values alone is the same
    corruption as dropping out the dense row.

    Returns:
        float32 `tf.SparseTensor` `[batch, num_items]`.
    """
    x = l2_normalize_rows(to_sparse_interactions(inputs, num_items))
    values = tf.cast(layer_dropout(x.values, training=training), tf.float32)
    return tf.SparseTensor(x.indices, values, x.dense_shape)


def _bias_initializer():
    # The reference implementation draws biases from a truncated normal with stddev 0.001.
    return keras.initializers.TruncatedNormal(stddev=0.001)


def hidden_dense(width, name, activation, regularizer):
    """A hidden layer of the Mult-VAE/DAE networks: Glorot kernel, the reference's bias init."""
    return keras.layers.Dense(
        width,
        activation=activation,
        kernel_regularizer=regularizer,
        bias_initializer=_bias_initializer(),
        name=name,
    )


@register_serializable
class MultVAE(AutoencoderRecommender):
    """Multinomial variational autoencoder for collaborative filtering (Mult-VAE^PR).

    Encodes a user's L2-normalised interaction vector into a Gaussian latent and decodes a
    multinomial distribution over all items. Trained with `fit` on the annealed ELBO
    ``-log p(x|z) + beta * KL(q(z|x) || N(0, I))`` (Eq. 7), where ``beta`` grows linearly with the
    number of updates, ``min(anneal_cap, updates / total_anneal_steps)`` (Sec. 2.2.2). Dropout is
    applied to the normalised input. The loss is normalised by the global batch
    (`tf.nn.compute_average_loss`), so data-parallel training averages the same quantity.

    Args:
        num_items: int. Size of the item catalogue I.
        hidden_dims: sequence of int. Encoder hidden widths; the decoder mirrors them.
            Default ``(600,)``, the paper's [I-600-200-600-I].
        latent_dim: int. Size of the latent z. Default 200.
        dropout_rate: float in [0, 1). Dropout on the normalised input. Default 0.5.
        activation: str. Hidden activation. Default ``"tanh"``.
        anneal_cap: float. Largest KL weight beta. Default 0.2.
        total_anneal_steps: int. Updates over which beta would reach 1. Default 200,000.
        l2_regularization: float. L2 weight decay on the kernels (``lam * sum w^2``). Default 0.
        sparse_input_max_density: float. Batches with at most this fraction of non-zeros are
            multiplied by the first layer as sparse tensors, denser ones as dense batches
            (faster there on CPU); same result either way. Default 0.01 (see
            `tfrec.models.autoencoder_recommender.sparse_input_layer`).
        **kwargs: passed to `keras.Model` (e.g. ``name``).

    Call arguments:
        inputs: `tf.SparseTensor` or dense float tensor `[batch, num_items]`, 0/1 entries.
        training: bool. Samples z and applies dropout when True; uses the mean when False.

    Returns:
        Logits `[batch, num_items]`, float32 even under a mixed precision policy.

    Raises:
        ValueError: if `num_items` or `latent_dim` < 1, or `dropout_rate` is not in [0, 1).

    Example:
        >>> import scipy.sparse as sp
        >>> import tfrec
        >>> from tfrec.data import sparse_user_batches
        >>> clicks = sp.random(40, 30, density=0.2, format="csr", random_state=0)
        >>> clicks.data[:] = 1.0
        >>> model = tfrec.models.MultVAE(num_items=30, hidden_dims=(16,), latent_dim=8)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(sparse_user_batches(clicks, batch_size=10, seed=0), epochs=2,
        ...                     verbose=0)
        >>> model(clicks[:3].toarray()).shape  # logits over all items
        TensorShape([3, 30])

    References:
        - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). Variational Autoencoders for
          Collaborative Filtering. WWW.
    """

    def __init__(
        self,
        num_items: int,
        hidden_dims=(600,),
        latent_dim: int = 200,
        dropout_rate: float = 0.5,
        activation: str = "tanh",
        anneal_cap: float = 0.2,
        total_anneal_steps: int = 200000,
        l2_regularization: float = 0.0,
        sparse_input_max_density: float = SPARSE_INPUT_MAX_DENSITY,
        **kwargs,
    ):
        super().__init__(num_items, **kwargs)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}.")
        if not 0.0 <= float(dropout_rate) < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}.")
        if int(total_anneal_steps) < 1:
            raise ValueError(f"total_anneal_steps must be >= 1, got {total_anneal_steps}.")

        # === Layers ===
        regularizer = keras.regularizers.L2(l2_regularization) if l2_regularization else None

        def dense(width, name):
            return hidden_dense(width, name, activation, regularizer)

        self.input_dropout = keras.layers.Dropout(dropout_rate, name="input_dropout")
        self.encoder_layers = [dense(width, f"encoder_{i}") for i, width in enumerate(hidden_dims)]
        # The Gaussian parameters and the output logits stay float32 under mixed precision:
        # exp(log_var) and the softmax over thousands of items overflow or lose mass in float16.
        self.gaussian_parameters = keras.layers.Dense(
            2 * int(latent_dim),
            kernel_regularizer=regularizer,
            bias_initializer=_bias_initializer(),
            dtype="float32",
            name="gaussian_parameters",
        )
        self.decoder_layers = [
            dense(width, f"decoder_{i}") for i, width in enumerate(reversed(tuple(hidden_dims)))
        ]
        self.output_logits = keras.layers.Dense(
            self.num_items,
            kernel_regularizer=regularizer,
            bias_initializer=_bias_initializer(),
            dtype="float32",
            name="output_logits",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.beta_tracker = keras.metrics.Mean(name="beta")

        # === Config ===
        self.hidden_dims = tuple(int(w) for w in hidden_dims)
        self.latent_dim = int(latent_dim)
        self.dropout_rate = float(dropout_rate)
        self.activation = activation
        self.anneal_cap = float(anneal_cap)
        self.total_anneal_steps = int(total_anneal_steps)
        self.l2_regularization = float(l2_regularization)
        self.sparse_input_max_density = float(sparse_input_max_density)
        self._build_layers()

    def _build_layers(self):
        build_dense_chain(self.encoder_layers + [self.gaussian_parameters], self.num_items)
        build_dense_chain(self.decoder_layers + [self.output_logits], self.latent_dim)

    def encode(self, inputs, training=False):
        """Gaussian posterior ``(mean, log_variance)``, each float32 `[batch, latent_dim]`.

        The input (a `tf.SparseTensor` or a dense batch) is L2-normalised per user and dropped
        out on its non-zero values; the first layer multiplies the sparse batch directly
        (`tf.sparse.sparse_dense_matmul`, cost growing with the interactions, not the catalogue)
        when at most `sparse_input_max_density` of it is non-zero, else as a dense batch.
        """
        x = sparse_dropout_input(self.input_dropout, inputs, self.num_items, training)
        first, *rest = self.encoder_layers + [self.gaussian_parameters]
        h = sparse_input_layer(first, x, self.sparse_input_max_density)
        for layer in rest:
            h = layer(h)
        parameters = tf.cast(h, tf.float32)
        return parameters[:, : self.latent_dim], parameters[:, self.latent_dim :]

    def decode(self, z):
        """Returns float32 logits `[batch, num_items]` for latent codes `[batch, latent]`."""
        h = z
        for layer in self.decoder_layers:
            h = layer(h)
        return self.output_logits(h)

    def _forward(self, inputs, training):
        mean, log_variance = self.encode(inputs, training=training)
        if training:
            # Reparameterisation trick (Sec. 2.2): z = mean + eps * std.
            epsilon = tf.random.normal(tf.shape(mean))
            z = mean + epsilon * tf.exp(0.5 * log_variance)
        else:
            z = mean
        return self.decode(z), mean, log_variance

    def call(self, inputs, training=False):
        return self._forward(inputs, training)[0]

    def kl_weight(self):
        """KL weight beta after the optimizer's updates so far (Sec. 2.2.2), float32 scalar."""
        updates = tf.cast(self.optimizer.iterations, tf.float32)
        return tf.minimum(self.anneal_cap, updates / float(self.total_anneal_steps))

    def train_step(self, data):
        inputs = data[0] if isinstance(data, (tuple, list)) else data
        x = to_sparse_interactions(inputs, self.num_items)
        beta = self.kl_weight()
        with tf.GradientTape() as tape:
            logits, mean, log_variance = self._forward(x, training=True)
            negative_log_likelihood = -multinomial_log_likelihood(logits, x)
            kl = 0.5 * tf.reduce_sum(
                -log_variance + tf.exp(log_variance) + tf.square(mean) - 1.0, axis=1
            )
            per_user = negative_log_likelihood + beta * kl
            loss = tf.nn.compute_average_loss(per_user)
            if self.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        # `loss` is this replica's share of the global-batch mean; log the per-user mean.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas)
        self.kl_tracker.update_state(tf.reduce_mean(kl))
        self.beta_tracker.update_state(beta)
        return {m.name: m.result() for m in (self.loss_tracker, self.kl_tracker, self.beta_tracker)}

    @property
    def metrics(self):
        # Listed so that `fit` resets them each epoch; compiled ranking metrics follow.
        return unique_metrics(
            [self.loss_tracker, self.kl_tracker, self.beta_tracker] + list(super().metrics)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dims": list(self.hidden_dims),
                "latent_dim": self.latent_dim,
                "dropout_rate": self.dropout_rate,
                "activation": self.activation,
                "anneal_cap": self.anneal_cap,
                "total_anneal_steps": self.total_anneal_steps,
                "l2_regularization": self.l2_regularization,
                "sparse_input_max_density": self.sparse_input_max_density,
            }
        )
        return config
