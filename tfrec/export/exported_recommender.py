"""A tfrec export loaded back for queries and offline evaluation, through its signatures only."""

from tfrec.data.data_error import DataError
from tfrec.export.saved_model import find_version, read_metadata

import numpy as np
import tensorflow as tf

# The outputs that make a signature a top-k one.
TOP_K_OUTPUTS = frozenset({"top_ids", "top_scores"})
# Inputs of the serving modules' top-k signatures, and the id that pads a history of each.
HISTORY_PADDING = {"item_ids": -1, "history": 0}


class ExportedRecommender:
    """A tfrec SavedModel export queried through its serving signatures (no tfrec model built).

    The request format comes from the signatures' inputs: a history of item ids (``item_ids``
    `[batch, any]`, padded with -1: `tfrec.export.InteractionServing`), a fixed-length history
    (``history`` `[batch, max_len]`, left-padded with 0: `tfrec.export.SequenceServing`) or user
    ids (``user_id`` `[batch]`: `tfrec.export.BPRServing`). The export's
    ``assets.extra/tfrec.json`` (written by `tfrec.training.run_experiment`) adds the model,
    dataset and protocol; an export without it can still be queried.

    Args:
        export_dir: str or path. A SavedModel version folder, or a TF Serving model folder of
            numbered versions (the highest is loaded).

    Attributes:
        path: `pathlib.Path` of the version folder loaded.
        metadata: dict, the export's ``tfrec.json`` ({} if it has none).
        input_name: ``"item_ids"``, ``"history"`` or ``"user_id"``.
        max_len: int or None. A ``history`` request's fixed length.
        padding_id: int or None. The id that pads a history (None for user requests).
        item_ids: int64 numpy `[num_items]`, the catalogue's dataset ids in model order.
        signature_names: list of the top-k signatures' names, ``serving_default`` first.

    Raises:
        FileNotFoundError: if there is no SavedModel at `export_dir`.
        DataError: (a `ValueError`) if the SavedModel is not a tfrec recommender export (no
            top-k ``serving_default`` or no ``item_ids``).
        json.JSONDecodeError: (a `ValueError`) if its ``tfrec.json`` is not valid JSON.
    """

    def __init__(self, export_dir):
        self.path = find_version(export_dir)
        self.metadata = read_metadata(self.path)
        self._loaded = tf.saved_model.load(str(self.path))
        signatures = dict(self._loaded.signatures)
        top_k = {
            name: function
            for name, function in signatures.items()
            if TOP_K_OUTPUTS <= set(function.structured_outputs)
        }
        if "serving_default" not in top_k or not hasattr(self._loaded, "item_ids"):
            raise DataError(f"{self.path} is not a tfrec recommender export.")
        self._signatures = signatures
        self.signature_names = ["serving_default"] + sorted(set(top_k) - {"serving_default"})
        specs = top_k["serving_default"].structured_input_signature[1]
        (self.input_name,) = set(specs) - {"k"}
        shape = specs[self.input_name].shape
        self.max_len = shape[1] if self.input_name == "history" else None
        self.padding_id = HISTORY_PADDING.get(self.input_name)
        self.item_ids = self._loaded.item_ids.numpy()
        self._item_column = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.item_ids), tf.range(self.num_items, dtype=tf.int64)
            ),
            default_value=-1,
        )

    @property
    def num_items(self) -> int:
        """int. Number of items in the catalogue (``len(item_ids)``)."""
        return len(self.item_ids)

    def signature(self, name: str = "serving_default"):
        """The top-k signature `name`.

        Args:
            name: str. A name of `signature_names`.

        Returns:
            The signature's concrete function, called with keyword inputs.

        Raises:
            DataError: (a `ValueError`) if the export has no signature `name`, or it does not
                return ``top_ids`` and ``top_scores``.
        """
        if name not in self._signatures:
            raise DataError(
                f"{self.path} has no signature {name!r}; it has "
                f"{', '.join(sorted(self._signatures))}."
            )
        if name not in self.signature_names:
            raise DataError(
                f"signature {name!r} of {self.path} does not return top-k recommendations; "
                f"those that do: {', '.join(self.signature_names)}."
            )
        return self._signatures[name]

    def unknown_items(self, ids) -> list:
        """The ids of `ids` (in their order) that are not in the catalogue.

        Args:
            ids: iterable of int dataset item ids.

        Returns:
            list of int, possibly empty.
        """
        known = set(self.item_ids.tolist())
        return [int(i) for i in ids if int(i) not in known]

    def history_batch(self, histories) -> np.ndarray:
        """Pads histories (lists of item ids, oldest first) into a request's int64 batch.

        ``item_ids`` histories are padded on the right with -1 to the longest (unknown ids
        kept: the export ignores them); ``history`` ones keep their last `max_len` catalogue
        items (unknown ids dropped first, as the export would) and are padded on the left with 0.

        Args:
            histories: sequence of `batch` sequences of int dataset item ids, oldest first.

        Returns:
            int64 numpy `[batch, longest history (at least 1)]` for ``item_ids``, or
            `[batch, max_len]` for ``history``.

        Raises:
            DataError: (a `ValueError`) if the export takes user ids.
        """
        if self.padding_id is None:
            raise DataError(f"{self.path} takes user ids, not item histories.")
        if self.max_len is None:
            width = max([len(history) for history in histories] + [1])
            batch = np.full((len(histories), width), self.padding_id, np.int64)
            for row, history in enumerate(histories):
                batch[row, : len(history)] = history
            return batch
        batch = np.full((len(histories), self.max_len), self.padding_id, np.int64)
        known = set(self.item_ids.tolist())
        for row, history in enumerate(histories):
            tail = [int(i) for i in history if int(i) in known][-self.max_len :]
            if tail:
                batch[row, -len(tail) :] = tail
        return batch

    def top_k(self, requests, k: int, signature: str = "serving_default"):
        """The `k` recommendations of each request.

        Args:
            requests: int `[batch]` user ids or `[batch, length]` padded histories
                (`history_batch`; `length` = `max_len` for ``history``), as the export takes.
            k: int. 1 <= k <= number of items.
            signature: str. Name of a top-k signature. Default ``serving_default``.

        Returns:
            (ids, scores): int64 dataset item ids and float32 scores, numpy arrays
            `[batch, k]`, best first.

        Raises:
            DataError: (a `ValueError`) from `signature`, for a bad signature name.
            tf.errors.InvalidArgumentError: from the export, e.g. an unknown user id or a bad k.
        """
        out = self.signature(signature)(
            **{self.input_name: tf.constant(requests, tf.int64)}, k=tf.constant(k, tf.int32)
        )
        return out["top_ids"].numpy(), out["top_scores"].numpy()

    def scores(self, requests, signature: str = "serving_default"):
        """Every catalogue item's score for each request, in `item_ids` order.

        The export's top-k with k = all items, put back in catalogue order: the scores the
        served model ranks by, with the items it excludes (the request's history, or the user's
        training items) at -inf. Runs eagerly or inside a `tf.function`.

        Args:
            requests: int tensor or array, as for `top_k`.
            signature: str. Name of a top-k signature. Default ``serving_default``.

        Returns:
            float32 tensor `[batch, num_items]`, column j the score of ``item_ids[j]``.

        Raises:
            DataError: (a `ValueError`) from `signature`, for a bad signature name.
            tf.errors.InvalidArgumentError: from the export, e.g. an unknown user id.
        """
        out = self.signature(signature)(
            **{self.input_name: tf.cast(requests, tf.int64)},
            k=tf.constant(self.num_items, tf.int32),
        )
        # The top ids of a request are a permutation of the catalogue; sorting their columns
        # puts each score back in its item's column.
        columns = self._item_column.lookup(out["top_ids"])
        return tf.gather(out["top_scores"], tf.argsort(columns, axis=1), batch_dims=1)

    def call_signature(self, name: str, **inputs):
        """Calls any signature of the export (e.g. ``score_new_items``) with `inputs`.

        Args:
            name: str. The signature's name.
            **inputs: its input tensors, by input name.

        Returns:
            dict of the signature's output tensors, by output name.

        Raises:
            DataError: (a `ValueError`) if the export has no signature `name`.
            tf.errors.InvalidArgumentError: from the export, for inputs it rejects.
        """
        if name not in self._signatures:
            raise DataError(f"{self.path} has no signature {name!r}.")
        return self._signatures[name](**inputs)

    def has_signature(self, name: str) -> bool:
        """Whether the export has a signature `name` (of any kind)."""
        return name in self._signatures
