"""Serving module for recommenders that score items from a user's interaction history."""

from tfrec.export.recommender_serving import RecommenderServing

import numpy as np
import tensorflow as tf

PADDING_ID = -1


class InteractionServing(RecommenderServing):
    """Serves a trained `AutoencoderRecommender` (Mult-VAE, Mult-DAE, EASE, popularity).

    Signature ``serving_default``:
        item_ids: int64 `[batch, max_len]`, the user's items as dataset ids (e.g. MovieLens
            MovieIDs), padded with -1. Ids outside the catalogue are ignored.
        k: int32 scalar, optional (default `default_k`): number of recommendations,
            1 <= k <= number of items.

    Returns a dict with ``top_ids`` (int64 `[batch, k]`, dataset ids, the user's own items
    excluded) and ``top_scores`` (float32 `[batch, k]`, model scores such as logits).

    Args:
        model: a trained `tfrec.models.AutoencoderRecommender` subclass.
        item_ids: int array `[num_items]`: the dataset id of each model column.
        default_k: int. `k` when a request omits it. Default 100.

    Raises:
        ValueError: if `item_ids` does not have one id per model column.
    """

    def __init__(self, model, item_ids, default_k: int = 100):
        super().__init__(model, item_ids, default_k=default_k, exclude_known=True)
        default = tf.constant(self.default_k, tf.int32)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int64, name="item_ids"),
                tf.TensorSpec([], tf.int32, name="k"),
            ]
        )
        def serve(item_ids, k=default):
            return self._recommend(item_ids, k)

        self.serve = serve

    def _recommend(self, item_ids, k):
        columns = self.item_indices(item_ids)
        known = tf.where(columns >= 0)
        batch = tf.shape(item_ids, out_type=tf.int64)[0]
        # The history as a sparse batch (repeated ids count once): the model's first layer
        # multiplies it directly, so a request costs its items, not the whole catalogue.
        keys = known[:, 0] * self.num_items + tf.gather_nd(columns, known)
        keys = tf.sort(tf.unique(keys).y)
        indices = tf.stack([keys // self.num_items, keys % self.num_items], axis=1)
        history = tf.SparseTensor(
            indices, tf.ones(tf.shape(keys), tf.float32), tf.stack([batch, self.num_items])
        )
        # `masked_scores` sets the history's items to -inf: the user's known items.
        return self.top_k(self.model.masked_scores(history), k)

    def signatures(self) -> dict:
        return {"serving_default": self.serve}

    def metadata(self) -> dict:
        return {**super().metadata(), "input": "item_ids", "padding_id": PADDING_ID}

    def warmup_requests(self, num_requests: int = 2) -> dict:
        """Example requests for ``assets.extra`` (catalogue ids, padded), for server warm-up."""
        ids = self.item_ids.numpy()
        requests = []
        for n in range(num_requests):
            row = np.full((1, 4), PADDING_ID, np.int64)
            row[0, : n + 1] = ids[: n + 1]
            requests.append({"item_ids": row, "k": np.int32(self.default_k)})
        return {"serving_default": requests}
