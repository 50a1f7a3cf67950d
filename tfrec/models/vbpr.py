"""VBPR: Visual Bayesian Personalized Ranking (He and McAuley, AAAI 2016); BPR-MF without features.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR: Visual Bayesian
      Personalized Ranking from Implicit Feedback. AAAI.
    - [Rendle et al., 2009](https://arxiv.org/abs/1205.2618). BPR: Bayesian Personalized Ranking
      from Implicit Feedback. UAI.
"""

from tfrec.losses.bpr_loss import bpr_loss
from tfrec.utils.serialization import register_serializable

import numpy as np
import tensorflow as tf
import tf_keras as keras

# Default L2 weights per sampled triple on a batch-mean loss, chosen on validation AUC over a grid
# on ML-100K and ML-1M (examples/tune_bpr_regularization.py, README "VBPR and BPR-MF"). Cornac's
# VBPR (sum loss, lambda/2 * |w|^2) is 5e-3 per triple for factors and biases and 0 for E; here a
# weight on E and beta' helped VBPR on both datasets.
FACTOR_REGULARIZATION = 3e-3
BIAS_REGULARIZATION = 3e-3
VISUAL_REGULARIZATION = 1e-2


@register_serializable
class VBPR(keras.Model):
    """Matrix factorisation plus a visual term from fixed item features, trained on BPR-OPT.

    The predictor is Equation 4 of the paper without the global offset alpha and the user bias
    beta_u, which cancel in every BPR difference ``x_ui - x_uj`` and so never receive a gradient:

        x_ui = beta_i + gamma_u . gamma_i + theta_u . (E f_i) + beta' . f_i

    with non-visual factors gamma (K dims), visual user factors theta_u (K' dims), the projection
    E `[F, K']` of the F-dimensional item feature f_i, and the visual bias vector beta' `[F]`.
    With ``feature_dim=0`` and ``num_visual_factors=0`` the visual term vanishes and the model
    is BPR-MF with item biases (see `tfrec.models.bpr_mf.BPRMF`).

    Item features live in a non-trainable weight ``item_features`` `[num_items, F]` (saved with
    the model's weights, not baked into the graph); fill it with `set_item_features`.

    Regularisation (Equation 6, per sampled triple (u, i, j), averaged over the batch):
    ``factor_regularization * (|gamma_u|^2 + |theta_u|^2 + |gamma_i|^2 + |gamma_j|^2)``
    ``+ bias_regularization * (beta_i^2 + beta_j^2)``, plus once per step
    ``visual_regularization * (|E|^2 + |beta'|^2)``.

    `fit` minimises BPR-OPT, the mean of ``-ln sigmoid(x_uij)`` (`tfrec.losses.bpr_loss`), plus
    the regularisation: pass no `loss` to `compile`.

    Args:
        num_users: int. Number of users U (rows are user indices 0..U-1).
        num_items: int. Number of items I (item indices 0..I-1).
        feature_dim: int. Dimension F of the item feature vectors; 0 for BPR-MF.
        num_factors: int. Non-visual latent dimension K. Default 10.
        num_visual_factors: int. Visual latent dimension K'; 0 when `feature_dim` is 0.
            Default 10.
        factor_regularization: float. L2 weight on gamma_u, gamma_i, theta_u. Default 3e-3
            (chosen on validation AUC, see `FACTOR_REGULARIZATION`).
        bias_regularization: float. L2 weight on the item bias beta_i. Default 3e-3.
        visual_regularization: float. L2 weight on E and beta', once per step. Default 1e-2.
        initializer_stddev: float. Std-dev of the normal initialiser of gamma, theta and E;
            biases start at 0. Default 0.01.
        **kwargs: passed to `keras.Model`.

    Call arguments:
        inputs: dict of int tensors `[batch]` of user and item indices, either
            ``{"user", "item"}`` (returns x_ui) or ``{"user", "positive_item",
            "negative_item"}`` (returns x_uij = x_ui - x_uj, the training output).
        training: bool. When True the regularisation terms are added with `add_loss`.

    Returns:
        float32 scores `[batch]`, also under a mixed precision policy.

    Raises:
        ValueError: if a size is negative, num_users/num_items < 1, or only one of
            feature_dim / num_visual_factors is 0.

    Example:
        >>> import scipy.sparse as sp
        >>> from tfrec.data import bpr_triples
        >>> model = VBPR(num_users=3, num_items=4, feature_dim=5, num_factors=2,
        ...              num_visual_factors=2)
        >>> model.set_item_features(np.ones((4, 5), np.float32))
        >>> model.compile(optimizer="adam")
        >>> train = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]]))
        >>> history = model.fit(bpr_triples(train, batch_size=2, seed=0), epochs=2, verbose=0)
        >>> model.score_all_items(np.array([0, 2])).shape
        TensorShape([2, 4])
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        feature_dim: int,
        num_factors: int = 10,
        num_visual_factors: int = 10,
        factor_regularization: float = FACTOR_REGULARIZATION,
        bias_regularization: float = BIAS_REGULARIZATION,
        visual_regularization: float = VISUAL_REGULARIZATION,
        initializer_stddev: float = 0.01,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_users) < 1 or int(num_items) < 1:
            raise ValueError(
                f"num_users and num_items must be >= 1, got {num_users} and {num_items}."
            )
        if int(num_factors) < 0 or int(num_visual_factors) < 0 or int(feature_dim) < 0:
            raise ValueError(
                "num_factors, num_visual_factors and feature_dim must be >= 0, got "
                f"{num_factors}, {num_visual_factors}, {feature_dim}."
            )
        if (int(feature_dim) == 0) != (int(num_visual_factors) == 0):
            raise ValueError(
                "feature_dim and num_visual_factors must both be 0 (BPR-MF) or both positive "
                f"(VBPR), got feature_dim={feature_dim}, num_visual_factors={num_visual_factors}."
            )
        if int(num_factors) + int(num_visual_factors) < 1:
            raise ValueError("The model needs at least one latent dimension (K + K' >= 1).")

        # === Config ===
        self.num_users = int(num_users)
        self.num_items = int(num_items)
        self.feature_dim = int(feature_dim)
        self.num_factors = int(num_factors)
        self.num_visual_factors = int(num_visual_factors)
        self.factor_regularization = float(factor_regularization)
        self.bias_regularization = float(bias_regularization)
        self.visual_regularization = float(visual_regularization)
        self.initializer_stddev = float(initializer_stddev)

        # === Layers ===
        def normal():
            # A fresh initializer per weight: a reused unseeded one repeats its values.
            return keras.initializers.RandomNormal(stddev=self.initializer_stddev)

        self.user_factors = self.add_weight(
            name="user_factors", shape=(self.num_users, self.num_factors), initializer=normal()
        )
        self.item_factors = self.add_weight(
            name="item_factors", shape=(self.num_items, self.num_factors), initializer=normal()
        )
        self.item_bias = self.add_weight(
            name="item_bias", shape=(self.num_items,), initializer="zeros"
        )
        if self.has_visual_term:
            self.user_visual_factors = self.add_weight(
                name="user_visual_factors",
                shape=(self.num_users, self.num_visual_factors),
                initializer=normal(),
            )
            self.visual_projection = self.add_weight(
                name="visual_projection",
                shape=(self.feature_dim, self.num_visual_factors),
                initializer=normal(),
            )
            self.visual_bias = self.add_weight(
                name="visual_bias", shape=(self.feature_dim,), initializer="zeros"
            )
            # A weight, not a constant: the features are saved with the model and a 3,706 x
            # 1,280 array is not copied into every traced graph.
            self.item_features = self.add_weight(
                name="item_features",
                shape=(self.num_items, self.feature_dim),
                initializer="zeros",
                trainable=False,
                dtype=tf.float32,
            )

        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        # Listed so that `fit` resets the running mean of the BPR loss every epoch.
        return [self.loss_tracker, *super().metrics]

    @property
    def has_visual_term(self) -> bool:
        """True for VBPR, False for BPR-MF."""
        return self.feature_dim > 0

    def set_item_features(self, features) -> None:
        """Assigns the item feature matrix.

        Args:
            features: float array `[num_items, feature_dim]`, row i the feature of item index i
                (e.g. from `tfrec.data.item_features.load_item_features`).

        Raises:
            ValueError: if the model has no visual term, the shape is wrong, or values are not
                finite.
        """
        if not self.has_visual_term:
            raise ValueError(f"{type(self).__name__} has no visual term; it takes no features.")
        features = np.asarray(features, np.float32)
        if features.shape != (self.num_items, self.feature_dim):
            raise ValueError(
                f"item features must have shape [num_items={self.num_items}, "
                f"feature_dim={self.feature_dim}], got {features.shape}."
            )
        if not np.all(np.isfinite(features)):
            raise ValueError("item features contain NaN or infinite values.")
        self.item_features.assign(features)

    # --- scoring -------------------------------------------------------------------------------

    def _visual_scores(self, users, features):
        """theta_u . (E f) + beta' . f for aligned rows; features `[batch, F]`."""
        dtype = self.compute_dtype
        features = tf.cast(features, dtype)
        theta = tf.cast(tf.gather(self.user_visual_factors, users), dtype)
        projected = tf.matmul(features, tf.cast(self.visual_projection, dtype))
        return tf.reduce_sum(theta * projected, axis=-1) + tf.linalg.matvec(
            features, tf.cast(self.visual_bias, dtype)
        )

    def _score_pairs(self, users, items):
        dtype = self.compute_dtype
        gamma_u = tf.cast(tf.gather(self.user_factors, users), dtype)
        gamma_i = tf.cast(tf.gather(self.item_factors, items), dtype)
        scores = tf.cast(tf.gather(self.item_bias, items), dtype) + tf.reduce_sum(
            gamma_u * gamma_i, axis=-1
        )
        if self.has_visual_term:
            scores += self._visual_scores(users, tf.gather(self.item_features, items))
        return scores

    def call(self, inputs, training=False):
        users = tf.reshape(tf.cast(inputs["user"], tf.int32), [-1])
        if "negative_item" not in inputs:
            items = tf.reshape(tf.cast(inputs["item"], tf.int32), [-1])
            return tf.cast(self._score_pairs(users, items), tf.float32)
        positives = tf.reshape(tf.cast(inputs["positive_item"], tf.int32), [-1])
        negatives = tf.reshape(tf.cast(inputs["negative_item"], tf.int32), [-1])
        return self._score_triples(users, positives, negatives, training)

    def _score_triples(self, users, positives, negatives, training):
        """x_uij = x_ui - x_uj for aligned triples, each parameter row gathered once.

        The visual term projects each distinct item of the batch once, ``E f`` for the batch's
        unique positives and negatives, instead of once per triple and side: with large batches
        a batch repeats items many times, and the projection is the costly part of VBPR.
        With `training`, Equation 6's regularisation of the gathered rows is added (`add_loss`).
        """
        dtype = self.compute_dtype
        batch = tf.shape(users)[0]
        items = tf.concat([positives, negatives], axis=0)
        gamma_u = tf.gather(self.user_factors, users)
        gamma_items = tf.gather(self.item_factors, items)
        bias_items = tf.gather(self.item_bias, items)
        gamma_i, gamma_j = gamma_items[:batch], gamma_items[batch:]
        x_uij = tf.cast(bias_items[:batch] - bias_items[batch:], dtype) + tf.reduce_sum(
            tf.cast(gamma_u, dtype) * tf.cast(gamma_i - gamma_j, dtype), axis=-1
        )
        theta_u = None
        if self.has_visual_term:
            unique_items, position = tf.unique(items)
            features = tf.cast(tf.gather(self.item_features, unique_items), dtype)
            projected = tf.matmul(features, tf.cast(self.visual_projection, dtype))
            visual_bias = tf.linalg.matvec(features, tf.cast(self.visual_bias, dtype))
            projected = tf.gather(projected, position)
            visual_bias = tf.gather(visual_bias, position)
            theta_u = tf.gather(self.user_visual_factors, users)
            x_uij += tf.reduce_sum(
                tf.cast(theta_u, dtype) * (projected[:batch] - projected[batch:]), axis=-1
            )
            x_uij += visual_bias[:batch] - visual_bias[batch:]
        if training:
            self.add_loss(self._regularization(gamma_u, theta_u, gamma_items, bias_items))
        return tf.cast(x_uij, tf.float32)

    def _regularization(self, gamma_u, theta_u, gamma_items, bias_items):
        """Equation 6's L2 terms for the sampled rows, in float32, averaged over the triples.

        `gamma_items` and `bias_items` hold the positives' rows, then the negatives'.
        """

        def squared(rows):
            return tf.reduce_sum(tf.square(tf.cast(rows, tf.float32)), axis=-1)

        batch = tf.shape(gamma_u)[0]
        item_squares = squared(gamma_items)
        factors = squared(gamma_u) + item_squares[:batch] + item_squares[batch:]
        if theta_u is not None:
            factors += squared(theta_u)
        bias_squares = tf.square(tf.cast(bias_items, tf.float32))
        biases = bias_squares[:batch] + bias_squares[batch:]
        total = tf.reduce_mean(
            self.factor_regularization * factors + self.bias_regularization * biases
        )
        if self.has_visual_term and self.visual_regularization > 0:
            total += self.visual_regularization * (
                tf.reduce_sum(tf.square(tf.cast(self.visual_projection, tf.float32)))
                + tf.reduce_sum(tf.square(tf.cast(self.visual_bias, tf.float32)))
            )
        return total

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """BPR-OPT: mean ``-ln sigmoid(x_uij)`` plus the regularisation added in `call`.

        `y` is ignored: a triple needs no label. The loss is float32 under mixed precision.
        """
        del x, y
        losses = bpr_loss(y_pred)
        if sample_weight is not None:
            losses = losses * tf.cast(tf.reshape(sample_weight, [-1]), tf.float32)
        total = tf.reduce_mean(losses)
        if self.losses:
            total += tf.add_n([tf.cast(loss, tf.float32) for loss in self.losses])
        self.loss_tracker.update_state(total)
        return total

    def user_embeddings(self, users):
        """Query vectors `[batch, 1 + K + K']` = [1, gamma_u, theta_u] (float32).

        Their dot product with `item_embeddings()` is x_ui, so any maximum inner product search
        (e.g. TFRS `BruteForce`) retrieves the top items.
        """
        users = tf.cast(users, tf.int32)
        parts = [
            tf.ones([tf.shape(users)[0], 1], tf.float32),
            tf.gather(tf.cast(self.user_factors, tf.float32), users),
        ]
        if self.has_visual_term:
            parts.append(tf.gather(tf.cast(self.user_visual_factors, tf.float32), users))
        return tf.concat(parts, axis=1)

    def item_embeddings(self, item_features=None):
        """Candidate vectors `[num_items, 1 + K + K']` = [beta_i + beta'.f_i, gamma_i, E f_i].

        Args:
            item_features: optional float `[num_items, F]`; default the stored features.
        """
        bias = tf.identity(tf.cast(self.item_bias, tf.float32))
        parts = [None, tf.cast(self.item_factors, tf.float32)]
        if self.has_visual_term:
            features = self.item_features if item_features is None else item_features
            features = tf.cast(features, tf.float32)
            bias += tf.linalg.matvec(features, tf.cast(self.visual_bias, tf.float32))
            parts.append(tf.matmul(features, tf.cast(self.visual_projection, tf.float32)))
        parts[0] = bias[:, tf.newaxis]
        return tf.concat(parts, axis=1)

    def score_all_items(self, users):
        """Scores x_ui of every item for `users` (int `[batch]`): float32 `[batch, num_items]`."""
        return tf.matmul(self.user_embeddings(users), self.item_embeddings(), transpose_b=True)

    def score_new_items(self, users, item_features):
        """Scores items never seen in training from their features alone (cold start).

        Such items have no trained gamma_i or beta_i, so only the visual term remains:
        ``theta_u . (E f) + beta' . f``. BPR-MF has nothing to go on and scores 0.

        Args:
            users: int `[batch]` user indices.
            item_features: float `[num_new_items, F]`.

        Returns:
            float32 `[batch, num_new_items]`.
        """
        users = tf.cast(users, tf.int32)
        item_features = tf.convert_to_tensor(item_features, tf.float32)
        if not self.has_visual_term:
            return tf.zeros([tf.shape(users)[0], tf.shape(item_features)[0]], tf.float32)
        theta = tf.gather(tf.cast(self.user_visual_factors, tf.float32), users)
        projected = tf.matmul(item_features, tf.cast(self.visual_projection, tf.float32))
        visual_bias = tf.linalg.matvec(item_features, tf.cast(self.visual_bias, tf.float32))
        return tf.matmul(theta, projected, transpose_b=True) + visual_bias[tf.newaxis, :]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_users": self.num_users,
                "num_items": self.num_items,
                "feature_dim": self.feature_dim,
                "num_factors": self.num_factors,
                "num_visual_factors": self.num_visual_factors,
                "factor_regularization": self.factor_regularization,
                "bias_regularization": self.bias_regularization,
                "visual_regularization": self.visual_regularization,
                "initializer_stddev": self.initializer_stddev,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
