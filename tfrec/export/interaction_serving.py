"""Serving module for recommenders that score items from a user's interaction history."""

from tfrec.export.checks import checked_k
from tfrec.export.saved_model import ServesModelWeights

import numpy as np
import tensorflow as tf

PADDING_ID = -1


class InteractionServing(ServesModelWeights, tf.Module):
    """Wraps a trained `AutoencoderRecommender` for TF Serving, in the dataset's own item ids.

    Signature ``serving_default``:
        item_ids: int64 `[batch, max_len]`, the user's items as dataset ids (e.g. MovieLens
            MovieIDs), padded with -1. Ids outside the catalogue are ignored.
        k: int32 scalar, optional (default `default_k`): number of recommendations,
            1 <= k <= number of items.

    Returns a dict with ``top_ids`` (int64 `[batch, k]`, dataset ids, the user's own items
    excluded) and ``top_scores`` (float32 `[batch, k]`, model scores such as logits).

    Args:
        model: a trained `tfrec.models.AutoencoderRecommender` subclass (MultVAE, MultDAE, EASE,
            Popularity).
        item_ids: int array `[num_items]`: the dataset id of each model column.
        default_k: int. `k` when a request omits it. Default 100.

    Raises:
        ValueError: if `item_ids` does not have one id per model column.
    """

    def __init__(self, model, item_ids, default_k: int = 100):
        super().__init__()
        item_ids = np.asarray(item_ids, np.int64)
        if item_ids.shape != (model.num_items,):
            raise ValueError(
                f"item_ids has shape {item_ids.shape}; the model has {model.num_items} items."
            )
        self._hold_model(model)  # exports its weights, not its optimizer's slots
        self.num_items = model.num_items
        self.default_k = min(int(default_k), self.num_items)
        self.item_ids = tf.Variable(item_ids, trainable=False, name="item_ids")
        self.column_of_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(item_ids), tf.range(len(item_ids), dtype=tf.int64)
            ),
            default_value=-1,
        )
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
        k = checked_k(k, self.num_items)
        columns = self.column_of_id.lookup(item_ids)
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
        scores = self.model.masked_scores(history)
        top = tf.math.top_k(scores, k=k)
        return {"top_ids": tf.gather(self.item_ids, top.indices), "top_scores": top.values}

    def warmup_requests(self, num_requests: int = 2):
        """Example requests for ``assets.extra`` (catalogue ids, padded), for server warm-up."""
        ids = self.item_ids.numpy()
        requests = []
        for n in range(num_requests):
            row = np.full((1, 4), PADDING_ID, np.int64)
            row[0, : n + 1] = ids[: n + 1]
            requests.append({"item_ids": row, "k": np.int32(self.default_k)})
        return {"serving_default": requests}
