"""The base of tfrec's TF Serving modules: one id vocabulary, one unknown-id rule, checked k."""

from tfrec.export.checks import checked_k
from tfrec.export.saved_model import ServesModelWeights

import numpy as np
import tensorflow as tf


class RecommenderServing(ServesModelWeights, tf.Module):
    """Top-k recommendations from a trained tfrec model, in the dataset's own item ids.

    Subclasses define the request (a history of items, or a user id), compute scores over the
    model's items and call `top_k`; this base holds what every served model shares:

    - one item vocabulary: ``item_ids`` (int64 `[num_items]`, the dataset id of each model item
      index) and `item_indices`, which maps dataset ids to indices;
    - one unknown-id rule: an item id outside the catalogue in a request's history is ignored
      (as if absent); an unknown *user* id, which leaves nothing to score, fails the request
      with InvalidArgument;
    - a checked ``k`` (1 <= k <= number of items, InvalidArgument otherwise) and the exclusion
      of items the user already has, when `exclude_known`;
    - `signatures()` for `tfrec.export.export_saved_model`, `warmup_requests()` (one example
      request per signature for TF Serving's ``assets.extra``) and `metadata()` (the request
      format, recorded in ``assets.extra/tfrec.json`` for `tfrec recommend`).

    The module exports the model's weights only, not its optimizer's slots.

    Args:
        model: the trained Keras model.
        item_ids: int array `[num_items]`: dataset id of each model item index.
        default_k: int. `k` when a request omits it (capped at the number of items).
        exclude_known: bool. Remove the user's known items from the recommendations.
        weights: optional list of the variables the signatures use (default: all the model's).

    Raises:
        ValueError: if `item_ids` does not hold one id per model item (``model.num_items``),
            has duplicates, or `default_k` < 1.
    """

    def __init__(
        self, model, item_ids, default_k: int = 100, exclude_known: bool = True, weights=None
    ):
        super().__init__()
        item_ids = np.asarray(item_ids, np.int64)
        if item_ids.ndim != 1 or len(np.unique(item_ids)) != len(item_ids):
            raise ValueError(
                f"item_ids must be a 1-d array of distinct ids, got shape {item_ids.shape}."
            )
        num_items = getattr(model, "num_items", None)
        if num_items is not None and item_ids.shape != (num_items,):
            raise ValueError(
                f"item_ids has shape {item_ids.shape}; the model has {num_items} items."
            )
        if int(default_k) < 1:
            raise ValueError(f"default_k must be >= 1, got {default_k}.")
        self._hold_model(model, weights)
        self.num_items = len(item_ids)
        self.default_k = min(int(default_k), self.num_items)
        self.exclude_known = bool(exclude_known)
        self.item_ids = tf.Variable(item_ids, trainable=False, name="item_ids")
        self.item_index = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(item_ids), tf.range(self.num_items, dtype=tf.int64)
            ),
            default_value=-1,
        )

    def item_indices(self, item_ids):
        """Model item indices of dataset `item_ids` (any shape); -1 for ids not in the catalogue."""
        return self.item_index.lookup(tf.cast(item_ids, tf.int64))

    def top_k(self, scores, k, columns=None):
        """The request's response: the `k` best items of `scores` as dataset ids.

        Args:
            scores: float tensor `[batch, n]`; excluded items already at -inf.
            k: int32 scalar tensor, checked against the number of items.
            columns: optional int tensor `[batch, n]`: the model item index of each score
                column (when `scores` covers a retrieved subset); None: column j is item j.

        Returns:
            dict of ``top_ids`` int64 `[batch, k]` and ``top_scores`` float32 `[batch, k]`.
        """
        k = checked_k(k, self.num_items)
        top = tf.math.top_k(tf.cast(scores, tf.float32), k=k)
        indices = top.indices
        if columns is not None:
            indices = tf.gather(columns, indices, batch_dims=1)
        return {"top_ids": tf.gather(self.item_ids, indices), "top_scores": top.values}

    def signatures(self) -> dict:
        """Signature name -> `tf.function` with an input signature; ``serving_default`` first."""
        raise NotImplementedError

    def warmup_requests(self) -> dict:
        """Signature name -> list of example requests (dicts of numpy inputs) for warm-up."""
        raise NotImplementedError

    def metadata(self) -> dict:
        """What a client needs to know of the requests, JSON-serialisable.

        Returns:
            dict with ``input`` (the name of the request's id input: ``item_ids``, ``history``
            or ``user_id``), ``padding_id`` (the id that pads a history; None for user ids),
            ``max_len`` (a history's fixed length; None if any), ``default_k``, ``num_items``,
            ``exclude_known`` and ``signatures`` (their names).
        """
        return {
            "input": None,
            "padding_id": None,
            "max_len": None,
            "default_k": self.default_k,
            "num_items": self.num_items,
            "exclude_known": self.exclude_known,
            "signatures": list(self.signatures()),
        }
