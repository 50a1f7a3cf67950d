"""Most-popular baseline: every user gets the same ranking by training interaction counts."""

from tfrec.models.autoencoder_recommender import AutoencoderRecommender, to_dense_interactions
from tfrec.utils.serialization import register_serializable

import numpy as np
import tensorflow as tf


@register_serializable
class Popularity(AutoencoderRecommender):
    """Scores each item by its number of training interactions, the same for every user.

    The floor any personalised recommender must clear. Fit it with `fit_closed_form`.

    Args:
        num_items: int. Size of the item catalogue I.
        **kwargs: passed to `keras.Model`.

    Call arguments:
        inputs: `[batch, num_items]` interactions (only the batch size is used).

    Returns:
        Scores `[batch, num_items]`, float32: the item counts.

    Raises:
        ValueError: if `num_items` < 1.
    """

    def __init__(self, num_items: int, **kwargs):
        super().__init__(num_items, **kwargs)

        # === Layers ===
        self.item_counts = self.add_weight(
            name="item_counts",
            shape=(self.num_items,),
            initializer="zeros",
            trainable=False,
            dtype=tf.float32,
        )

    def fit_closed_form(self, interactions) -> "Popularity":
        """Counts each item's interactions in `interactions` `[num_users, num_items]`; returns self.

        Raises:
            ValueError: if the number of columns is not `num_items`.
        """
        if interactions.shape[1] != self.num_items:
            raise ValueError(
                f"interactions have {interactions.shape[1]} items, the model {self.num_items}."
            )
        counts = np.asarray((interactions > 0).sum(axis=0)).ravel()
        self.item_counts.assign(counts.astype(np.float32))
        return self

    def call(self, inputs, training=False):
        batch = tf.shape(to_dense_interactions(inputs, self.num_items))[0]
        return tf.tile(self.item_counts[tf.newaxis, :], [batch, 1])
