"""TF Serving module for sequential recommenders: fMRLRec (one signature per size) and LRURec."""

from tfrec.export.recommender_serving import RecommenderServing
from tfrec.metrics.next_item_evaluation import history_mask, model_sizes

import numpy as np
import tensorflow as tf

# The dataset id that left-pads a request's history (sequence readers reject item id 0).
PADDING_ID = 0


class SequenceServing(RecommenderServing):
    """Serves a trained `FMRLRec` or `LRURec` on item histories, in the dataset's item ids.

    For an `FMRLRec`, ``serving_size_<m>`` runs the width-m model (`FMRLRec.sliced`, block
    masks folded into the kernels) against the first m features of one shared table of
    projected item representations, computed once at export: the export stores that table once,
    ``[num_items + 1, max(sizes)]``, and each size's own slice of the recurrent blocks' weights
    (the frozen feature tables are not exported, nor is the table repeated per size).
    ``serving_default`` is the largest exported size. `sizes` exports a subset, e.g. one size
    alone for a deployment of that size (its table then holds that size's features only). A
    single-size model (`LRURec`, no ``matryoshka_sizes``) has ``serving_default`` only, scoring
    with the model's own item table.

    Each signature takes:
        history: int64 `[batch, max_len]`, the user's items as dataset ids, oldest first,
            left-padded with 0. Ids outside the catalogue are ignored (dropped, the rest kept in
            order).
        k: int32 scalar, optional (default `default_k`), 1 <= k <= number of items.

    and returns ``top_ids`` int64 `[batch, k]` (dataset ids) and ``top_scores`` float32
    `[batch, k]` (logits). With `exclude_history` the history's items are not recommended.

    Args:
        model: a trained `tfrec.models.FMRLRec` or `tfrec.models.LRURec` (any model with
            ``num_items``, ``item_representations()``, ``encode(indices, items, training,
            last_only)`` and ``scores(hidden, items)``).
        item_ids: int array `[num_items]`: ``item_ids[i]`` is the dataset id of model item
            index i + 1 (index 0 is padding).
        max_len: int. History length of a request, in items.
        default_k: int. `k` when a request omits it (capped at the number of items). Default 10.
        exclude_history: bool. Remove the history's items (LRURec's protocol); fMRLRec's keeps
            them, as repeat purchases happen. Default False.
        sizes: optional sequence of int: the Matryoshka sizes to export, each one of the
            model's ``matryoshka_sizes``. Default None: all of them.

    Raises:
        ValueError: if `item_ids` is not a 1-d array of distinct ids, one per model item,
            `max_len` or `default_k` < 1, or `sizes` is empty, names a size that is not one of
            the model's Matryoshka sizes, or is given for a model without Matryoshka sizes.
    """

    def __init__(
        self,
        model,
        item_ids,
        max_len: int,
        default_k: int = 10,
        exclude_history: bool = False,
        sizes=None,
    ):
        if int(max_len) < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}.")
        model_sizes = getattr(model, "matryoshka_sizes", None)
        sizes = _exported_sizes(model_sizes, sizes)
        if not sizes:
            # One size: the model's own weights, its item table included, are all it needs.
            super().__init__(model, item_ids, default_k=default_k, exclude_known=exclude_history)
            self.max_len = int(max_len)
            self.item_representations = None
            self._signatures = {"serving_default": self._top_k_signature(model)}
            return
        sliced = {size: model.sliced(size) for size in sizes}
        # Only each size's recurrent blocks and the projected item table are exported.
        super().__init__(
            model,
            item_ids,
            default_k=default_k,
            exclude_known=exclude_history,
            weights=[w for small in sliced.values() for w in small.blocks.weights],
        )
        self.max_len = int(max_len)
        largest = sizes[-1]
        # One table for every exported size, as wide as the largest: each size reads its first
        # m features (the projection is nested, so they are the width-m model's own table).
        self.item_representations = tf.Variable(
            tf.cast(model.item_representations()[:, :largest], tf.float32), trainable=False
        )
        self._signatures = {
            f"serving_size_{size}": self._top_k_signature(small, size)
            for size, small in sliced.items()
        }
        self._signatures = {
            "serving_default": self._signatures[f"serving_size_{largest}"],
            **self._signatures,
        }

    def _model_indices(self, history):
        """Model indices (1..num_items) of a history; unknown ids dropped, padding 0 on the left."""
        indices = self.item_indices(history) + 1  # padding and unknown ids -> 0
        valid = indices > 0
        # A stable sort on "is an item" moves the dropped positions left, keeping the order.
        order = tf.argsort(tf.cast(valid, tf.int32), axis=1, stable=True)
        return tf.gather(indices, order, batch_dims=1)

    def _top_k_signature(self, small, size=None):
        """The top-k function of `small`; `size`: its Matryoshka size (None: one-size model)."""
        table = self.item_representations
        full = table is None or size == table.shape[1]

        # TF 2.21 records a tensor default in SignatureDef.defaults: k is optional for TF Serving.
        def serve(history, k=tf.constant(self.default_k, tf.int32)):  # noqa: B008
            indices = self._model_indices(history)
            # fMRLRec's item representations are computed once at export, not per request:
            # projecting the whole catalogue's frozen features costs far more than scoring one
            # history. A one-size model's table is its own item embedding.
            if table is None:
                items = small.item_representations()
            else:
                items = tf.convert_to_tensor(table) if full else table[:, :size]
            hidden = small.encode(indices, items, training=False, last_only=True)[:, -1]
            scores = small.scores(hidden, items)  # this size only; column 0 is padding
            if self.exclude_known:
                excluded = history_mask(indices, self.num_items + 1)
                scores = tf.where(excluded, tf.constant(-np.inf, scores.dtype), scores)
            scores = scores[:, 1:]
            return self.top_k(scores, k)

        return tf.function(
            serve,
            input_signature=[
                tf.TensorSpec([None, self.max_len], tf.int64, name="history"),
                tf.TensorSpec([], tf.int32, name="k"),
            ],
        )

    def signatures(self) -> dict:
        """Signature name -> `tf.function`: ``serving_default``, then ``serving_size_<m>``."""
        return dict(self._signatures)

    def metadata(self) -> dict:
        """The base's, for ``history`` requests: ``input`` ``"history"``, ``padding_id`` 0,
        ``max_len``, and ``sizes``: signature name -> the model width it scores at."""
        sizes = {
            name: int(name[len("serving_size_") :])
            for name in self._signatures
            if name.startswith("serving_size_")
        }
        # serving_default is the largest exported size, or a one-size model's own width.
        sizes["serving_default"] = max(sizes.values(), default=model_sizes(self.model)[-1])
        return {
            **super().metadata(),
            "input": "history",
            "padding_id": PADDING_ID,
            "max_len": self.max_len,
            "sizes": sizes,
        }

    def warmup_requests(self) -> dict:
        """Signature name -> one request: a history of the first catalogue item, `default_k`."""
        history = np.full((1, self.max_len), PADDING_ID, np.int64)
        history[0, -1] = self.item_ids.numpy()[0]
        request = {"history": history, "k": np.int32(self.default_k)}
        return {name: [request] for name in self._signatures}


def _exported_sizes(model_sizes, sizes) -> list:
    """The checked, increasing Matryoshka sizes to export (`model_sizes` when `sizes` is None)."""
    if sizes is None:
        return list(model_sizes or [])
    if not model_sizes:
        raise ValueError("sizes is only for a model with Matryoshka sizes (an FMRLRec).")
    sizes = sorted({int(size) for size in sizes})
    if not sizes:
        raise ValueError("sizes must name at least one Matryoshka size.")
    for size in sizes:
        if size not in model_sizes:
            raise ValueError(
                f"size {size} is not one of the model's Matryoshka sizes {list(model_sizes)}."
            )
    return sizes
