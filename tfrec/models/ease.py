"""EASE: embarrassingly shallow autoencoder, a closed-form item-item baseline."""

from tfrec.models.autoencoder_recommender import AutoencoderRecommender, to_dense_interactions
from tfrec.utils.serialization import register_serializable

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


@register_serializable
class EASE(AutoencoderRecommender):
    """Embarrassingly shallow autoencoder (EASE^R), fitted in closed form.

    Learns an item-item weight matrix B with a zero diagonal minimising
    ``||X - X B||_F^2 + lambda ||B||_F^2`` (Eq. 1-8): with ``P = (X^T X + lambda I)^-1``,
    ``B = I - P diag(1 / diag(P))`` and the diagonal set to 0. Scores are ``x B``. Fit it with
    `fit_closed_form`, not `fit` (there is nothing to iterate).

    Args:
        num_items: int. Size of the item catalogue I (B is I x I, float32: 4 I^2 bytes).
        l2_regularization: float > 0. lambda. Default 500 (tune on validation users).
        **kwargs: passed to `keras.Model`.

    Call arguments:
        inputs: `tf.SparseTensor` or dense float tensor `[batch, num_items]`.

    Returns:
        Scores `[batch, num_items]`, float32.

    Raises:
        ValueError: if `l2_regularization` <= 0 or `num_items` < 1.

    References:
        - [Steck, 2019](https://arxiv.org/abs/1905.03375). Embarrassingly Shallow Autoencoders for
          Sparse Data. WWW.
    """

    def __init__(self, num_items: int, l2_regularization: float = 500.0, **kwargs):
        super().__init__(num_items, **kwargs)
        if float(l2_regularization) <= 0:
            raise ValueError(f"l2_regularization must be > 0, got {l2_regularization}.")

        # === Layers ===
        self.item_weights = self.add_weight(
            name="item_weights",
            shape=(self.num_items, self.num_items),
            initializer="zeros",
            trainable=False,
            dtype=tf.float32,
        )

        # === Config ===
        self.l2_regularization = float(l2_regularization)

    def fit_closed_form(self, interactions) -> "EASE":
        """Computes B from the training users' interactions.

        Args:
            interactions: scipy sparse or dense `[num_users, num_items]`, 0/1.

        Returns:
            self.

        Raises:
            ValueError: if the number of columns is not `num_items`.
        """
        if interactions.shape[1] != self.num_items:
            raise ValueError(
                f"interactions have {interactions.shape[1]} items, the model {self.num_items}."
            )
        x = sp.csr_matrix(interactions, dtype=np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.l2_regularization
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)
        np.fill_diagonal(weights, 0.0)
        self.item_weights.assign(weights.astype(np.float32))
        return self

    def call(self, inputs, training=False):
        return tf.matmul(to_dense_interactions(inputs, self.num_items), self.item_weights)

    def get_config(self):
        config = super().get_config()
        config.update({"l2_regularization": self.l2_regularization})
        return config
