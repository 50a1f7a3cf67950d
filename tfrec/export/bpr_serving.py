"""TF Serving module for BPR-trained models (VBPR, BPR-MF): top-k per user, cold-start scores."""

from tfrec.data.item_features import scale_item_features
from tfrec.data.triples import contains_sorted, positive_keys
from tfrec.export.recommender_serving import RecommenderServing

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

DEFAULT_K = 100


class BPRServing(RecommenderServing):
    """Top-k serving for a trained `VBPR`/`BPRMF`, in the dataset's own ids.

    Retrieval is TFRS `BruteForce` over the item vectors [beta_i + beta'.f_i, gamma_i, E f_i]
    with user queries [1, gamma_u, theta_u] (their dot product is x_ui). A user's training
    items are removed as TFRS' `query_with_exclusions` does (retrieve k + n extra, drop the
    excluded, keep k), except that n is the batch's largest training history, known only at
    run time: `query_with_exclusions` needs a static exclusion width, which a padded
    [users, 2,314] table on ML-1M would cost 112 MB for.

    Signatures:
        ``serving_default``: ``user_id`` int64 `[batch]` (dataset user ids seen in
            training) and optional ``k`` int32 scalar (default `default_k`) ->
            ``top_ids`` int64 `[batch, k]` (dataset item ids) and ``top_scores`` float32.
            An unknown user id fails the request (InvalidArgument).
        ``score_new_items`` (VBPR only): ``user_id`` int64 `[batch]` and ``item_features``
            float32 `[num_new_items, F]` -> ``scores`` float32 `[batch, num_new_items]`: x_ui
            of items never seen in training, from their features alone
            (theta_u . E f + beta' . f). With `feature_scaling` the features are raw (from the
            same extractor as the training file) and the signature scales them as training
            did; without it they must arrive scaled like the training features.

    Args:
        model: trained `VBPR` or `BPRMF`.
        user_ids: int array `[num_users]`: dataset id of each model user index.
        item_ids: int array `[num_items]`: dataset id of each model item index.
        train: sparse `[num_users, num_items]`: the training interactions to exclude.
        default_k: int. Default number of recommendations.
        feature_scaling: dict or None. The scaling the training features received, from
            ``tfrec.data.load_item_features(..., return_scaling=True)``; stored in the export
            (and its metadata) and applied to ``score_new_items``' raw features.
    """

    def __init__(
        self, model, user_ids, item_ids, train, default_k: int = DEFAULT_K, feature_scaling=None
    ):
        user_ids = np.asarray(user_ids, np.int64)
        item_ids = np.asarray(item_ids, np.int64)
        if user_ids.shape != (model.num_users,) or item_ids.shape != (model.num_items,):
            raise ValueError(
                f"user_ids {user_ids.shape} / item_ids {item_ids.shape} do not match the "
                f"model's {model.num_users} users and {model.num_items} items."
            )
        super().__init__(model, item_ids, default_k=default_k, exclude_known=True)
        self.user_row = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(user_ids), tf.range(len(user_ids), dtype=tf.int64)
            ),
            default_value=-1,
        )
        self.retrieval = tfrs.layers.factorized_top_k.BruteForce(k=self.default_k)
        self.retrieval.index(
            model.item_embeddings(), identifiers=tf.range(self.num_items, dtype=tf.int32)
        )
        train = train.tocsr()
        self.train_keys = tf.Variable(positive_keys(train), trainable=False)
        self.train_counts = tf.Variable(np.diff(train.indptr).astype(np.int32), trainable=False)
        self.feature_dim = model.feature_dim
        self.feature_scaling = dict(feature_scaling) if feature_scaling else None
        default = tf.constant(self.default_k, tf.int32)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.int64, name="user_id"),
                tf.TensorSpec([], tf.int32, name="k"),
            ]
        )
        def serve(user_id, k=default):
            return self._recommend(user_id, k)

        self.serve = serve
        if model.has_visual_term:

            @tf.function(
                input_signature=[
                    tf.TensorSpec([None], tf.int64, name="user_id"),
                    tf.TensorSpec([None, model.feature_dim], tf.float32, name="item_features"),
                ]
            )
            def score_new_items(user_id, item_features):
                rows = self._rows(user_id)
                if self.feature_scaling:
                    item_features = scale_item_features(item_features, self.feature_scaling)
                return {"scores": self.model.score_new_items(rows, item_features)}

            self.score_new_items = score_new_items

    def _rows(self, user_id):
        rows = self.user_row.lookup(user_id)
        check = tf.debugging.assert_non_negative(
            rows, message="user_id holds an id that was not a training user"
        )
        # The check must run before any gather, which would fail with a less clear message.
        with tf.control_dependencies([check]):
            return tf.identity(rows)

    def _recommend(self, user_id, k):
        rows = self._rows(user_id)
        queries = self.model.user_embeddings(rows)
        # As TFRS' `query_with_exclusions`: retrieve k + (largest history) items, drop the
        # user's training items, keep the best k.
        seen = tf.reduce_max(tf.concat([tf.gather(self.train_counts, rows), [0]], 0))
        fetch = tf.minimum(tf.maximum(k, 1) + seen, self.num_items)
        scores, columns = self.retrieval(queries, k=fetch)
        columns = tf.cast(columns, tf.int64)
        excluded = contains_sorted(self.train_keys, rows[:, tf.newaxis] * self.num_items + columns)
        scores = tf.where(excluded, tf.constant(-np.inf, tf.float32), scores)
        return self.top_k(scores, k, columns=columns)

    def signatures(self) -> dict:
        """Signature dict for `export_saved_model`."""
        signatures = {"serving_default": self.serve}
        if self.model.has_visual_term:
            signatures["score_new_items"] = self.score_new_items
        return signatures

    def metadata(self) -> dict:
        return {**super().metadata(), "input": "user_id", "feature_scaling": self.feature_scaling}

    def warmup_requests(self):
        """One request per signature for ``assets.extra``."""
        some_user = self.user_row.export()[0].numpy()[:1].astype(np.int64)
        requests = {"serving_default": [{"user_id": some_user, "k": np.int32(self.default_k)}]}
        if self.model.has_visual_term:
            requests["score_new_items"] = [
                {
                    "user_id": some_user,
                    "item_features": np.zeros((2, self.feature_dim), np.float32),
                }
            ]
        return requests
