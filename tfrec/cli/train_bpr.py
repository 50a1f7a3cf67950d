"""``tfrec train vbpr|bpr-mf``: He and McAuley's leave-one-out protocol plus new items.

Reads MovieLens (every rating is an interaction: implicit feedback as in the paper), withholds a
seeded 10% of the items from training entirely, holds out one random validation and one random
test item per user, trains VBPR or BPR-MF with `fit` on BPR triples (early stopping on the
validation AUC, best weights restored), prints test AUC, cold-start AUC (with its user count),
new-item AUC, Recall@50 and NDCG@50, and exports a SavedModel for TF Serving.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR. AAAI.
"""

import pathlib
import time

from tfrec.cli import common
from tfrec.data.movielens import DATASETS

import numpy as np

DEFAULT_EPOCHS = 20
TEST_KS = (50,)
# Beside the paper's "at most 5 training interactions", which few MovieLens test items meet.
EXTRA_COLD_START_THRESHOLDS = (20,)
DEFAULT_K = 100


def add_arguments(parser) -> None:
    common.add_common_arguments(
        parser, default_dataset="ml-1m", datasets=DATASETS, default_batch_size=1024
    )
    group = parser.add_argument_group("protocol (He and McAuley, 2016)")
    group.add_argument(
        "--new-item-fraction",
        type=float,
        default=0.1,
        help="Fraction of items withheld from training for the new-item AUC (default 0.1).",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=3,
        help="Stop after this many epochs without a better validation AUC (best weights are "
        "restored either way). Default 3.",
    )
    group.add_argument(
        "--validation-users",
        type=int,
        default=None,
        help="Evaluate the validation AUC on a seeded sample of this many users (default all).",
    )
    group.add_argument(
        "--popularity-baseline",
        action="store_true",
        help="Also evaluate the most-popular baseline on the same split (under 'popularity').",
    )
    group = parser.add_argument_group("model")
    group.add_argument(
        "--features",
        default="image_features.npz",
        help="Item feature .npz (arrays item_ids, features); a relative path not found as given "
        "is looked up in the data folder. VBPR only. Default image_features.npz.",
    )
    group.add_argument(
        "--feature-scaling",
        default="minmax",
        choices=["minmax", "l2", "none"],
        help="Feature scaling (global min-max as Cornac by default). Items without a vector get "
        "a zero vector.",
    )
    group.add_argument("--num-factors", type=int, default=None, help="K (VBPR 10, BPR-MF 20).")
    group.add_argument("--num-visual-factors", type=int, default=10, help="K' (VBPR only).")
    group.add_argument("--factor-regularization", type=float, default=1e-4)
    group.add_argument("--bias-regularization", type=float, default=1e-4)
    group.add_argument("--visual-regularization", type=float, default=1e-4)


def _features_path(args, data_dir) -> pathlib.Path:
    path = pathlib.Path(args.features)
    if path.is_file() or path.is_absolute():
        return path
    return pathlib.Path(data_dir) / path


def _build_model(args, num_users, num_items, feature_dim):
    from tfrec.models.bpr_mf import BPRMF
    from tfrec.models.vbpr import VBPR

    if args.model == "bpr-mf":
        return BPRMF(
            num_users,
            num_items,
            num_factors=args.num_factors or 20,
            factor_regularization=args.factor_regularization,
            bias_regularization=args.bias_regularization,
        )
    return VBPR(
        num_users,
        num_items,
        feature_dim=feature_dim,
        num_factors=10 if args.num_factors is None else args.num_factors,
        num_visual_factors=args.num_visual_factors,
        factor_regularization=args.factor_regularization,
        bias_regularization=args.bias_regularization,
        visual_regularization=args.visual_regularization,
    )


def load_split(args):
    """Reads the dataset and returns (split, data folder)."""
    from tfrec.data.interactions import Interactions
    from tfrec.data.leave_one_out import split_leave_one_out
    from tfrec.data.movielens import read_movielens
    from tfrec.data.paths import resolve_data_dir

    frame = read_movielens(args.dataset, args.data_dir, args.download, args.cache_dir)
    try:
        data_dir = resolve_data_dir(args.data_dir, args.dataset)
    except FileNotFoundError:
        data_dir = pathlib.Path(".")
    split = split_leave_one_out(
        Interactions.from_frame(frame), seed=args.seed, new_item_fraction=args.new_item_fraction
    )
    return split, data_dir


def run(args) -> dict:
    from tfrec.data.item_features import load_item_features
    from tfrec.data.triples import bpr_triples
    from tfrec.metrics.auc import ValidationAUC, evaluate_leave_one_out, evaluate_new_items

    import tf_keras as keras

    epochs = common.positive_int("--epochs", args.epochs or DEFAULT_EPOCHS)
    common.positive_int("--batch-size", args.batch_size)
    if args.validation_users is not None:
        common.positive_int("--validation-users", args.validation_users)
    common.set_seed(args.seed)
    common.apply_precision(args.precision)
    split, data_dir = load_split(args)
    features = None
    if args.model == "vbpr":
        features_path = _features_path(args, data_dir)
        features, has_feature = load_item_features(
            features_path,
            split.item_ids,
            missing="zero",
            scaling=None if args.feature_scaling == "none" else args.feature_scaling,
        )
        print(
            f"Features: {features_path} ({features.shape[1]}-d), {int(has_feature.sum())} of "
            f"{len(has_feature)} items have a vector (the others get zeros)."
        )
    print(
        f"{args.dataset}: {split.num_users} users, {split.num_items} items "
        f"({len(split.new_items)} withheld as new items), {split.train.nnz} training "
        f"interactions, {int((split.test_items >= 0).sum())} test users."
    )

    model = _build_model(
        args, split.num_users, split.num_items, 0 if features is None else features.shape[1]
    )
    if features is not None:
        model.set_item_features(features)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.learning_rate))
    train = bpr_triples(
        split.train, args.batch_size, seed=args.seed, candidate_items=split.warm_items
    )
    callbacks = [
        ValidationAUC(
            split, lambda users: model.score_all_items(users).numpy(), args.validation_users
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_auc",
            mode="max",
            patience=common.positive_int("--patience", args.patience),
            restore_best_weights=True,
            verbose=1,
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    started = time.time()
    history = model.fit(train, epochs=epochs, callbacks=callbacks, verbose=args.verbose)
    train_seconds = time.time() - started
    curve = [float(v) for v in history.history.get("val_auc", [])]

    def score_all(users):
        return model.score_all_items(users).numpy()

    new_features = features[split.new_items] if features is not None else None

    def score_new(users):
        if new_features is None:
            return np.zeros((len(users), len(split.new_items)), np.float32)
        return model.score_new_items(users, new_features).numpy()

    test = evaluate_leave_one_out(
        score_all,
        split,
        "test",
        ks=TEST_KS,
        extra_cold_start_thresholds=EXTRA_COLD_START_THRESHOLDS,
    )
    test.update(evaluate_new_items(score_new, split))
    _print_metrics(f"{args.model} test", test)
    payload = {
        "model": args.model,
        "dataset": args.dataset,
        "test": test,
        "validation_curve": {"auc": curve},
        "best_epoch": (curve.index(max(curve)) + 1) if curve else None,
        "epochs_run": len(curve),
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / max(len(curve), 1),
        "arguments": {k: v for k, v in vars(args).items() if not k.startswith("_")},
    }
    if args.popularity_baseline:
        counts = np.asarray(split.train.sum(axis=0)).ravel().astype(np.float32)
        popularity = evaluate_leave_one_out(
            lambda users: np.tile(counts, (len(users), 1)),
            split,
            "test",
            ks=TEST_KS,
            extra_cold_start_thresholds=EXTRA_COLD_START_THRESHOLDS,
        )
        popularity.update(
            evaluate_new_items(
                lambda users: np.tile(counts[split.new_items], (len(users), 1)), split
            )
        )
        _print_metrics("popularity test", popularity)
        payload["popularity"] = popularity
    if not args.no_export:
        payload["export"] = str(_export(args, model, split))
        print(f"SavedModel written to {payload['export']}")
    if args.metrics_out:
        common.write_metrics(args.metrics_out, payload)
        print(f"Metrics written to {args.metrics_out}")
    return payload


def _print_metrics(title, metrics) -> None:
    common.print_table(
        f"{title} ({metrics['users']} users):",
        [
            ("AUC", metrics["auc"]),
            ("cold AUC", metrics["cold_auc"]),
            ("cold users", metrics["cold_users"]),
            *[
                (f"cold AUC@{n}", metrics[f"cold_auc@{n}"])
                for n in EXTRA_COLD_START_THRESHOLDS
                if f"cold_auc@{n}" in metrics
            ],
            *[
                (f"cold users@{n}", metrics[f"cold_users@{n}"])
                for n in EXTRA_COLD_START_THRESHOLDS
                if f"cold_users@{n}" in metrics
            ],
            ("new-item AUC", metrics["new_item_auc"]),
            ("new users", metrics["new_item_users"]),
            ("Recall@50", metrics["recall@50"]),
            ("NDCG@50", metrics["ndcg@50"]),
        ],
    )


def _export(args, model, split) -> pathlib.Path:
    from tfrec.export import export_saved_model

    export_dir = args.export_dir or str(pathlib.Path("saved_models") / args.model.replace("-", "_"))
    serving = build_serving_module(
        model, split.user_ids, split.item_ids, split.train, default_k=DEFAULT_K
    )
    return export_saved_model(
        serving,
        export_dir,
        signatures=serving.signatures(),
        warmup_requests=serving.warmup_requests(),
    )


def _serving_class():
    """Defines the serving class on first use: ``tfrec --help`` must not import TensorFlow."""
    from tfrec.data.triples import positive_keys

    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    class _BPRServing(tf.Module):
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
                float32 `[num_new_items, F]` (scaled like the training features) -> ``scores``
                float32 `[batch, num_new_items]`: x_ui of items never seen in training, from
                their features alone (theta_u . E f + beta' . f).

        Args:
            model: trained `VBPR` or `BPRMF`.
            user_ids: int array `[num_users]`: dataset id of each model user index.
            item_ids: int array `[num_items]`: dataset id of each model item index.
            train: sparse `[num_users, num_items]`: the training interactions to exclude.
            default_k: int. Default number of recommendations.
        """

        def __init__(self, model, user_ids, item_ids, train, default_k=DEFAULT_K):
            super().__init__()
            user_ids = np.asarray(user_ids, np.int64)
            item_ids = np.asarray(item_ids, np.int64)
            if user_ids.shape != (model.num_users,) or item_ids.shape != (model.num_items,):
                raise ValueError(
                    f"user_ids {user_ids.shape} / item_ids {item_ids.shape} do not match the "
                    f"model's {model.num_users} users and {model.num_items} items."
                )
            self.model = model
            self.num_items = model.num_items
            self.default_k = min(int(default_k), self.num_items)
            self.item_ids = tf.Variable(item_ids, trainable=False, name="item_ids")
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
            tf.debugging.assert_greater_equal(k, 1, message="k must be >= 1")
            tf.debugging.assert_less_equal(
                k, self.num_items, message=f"k must be <= the number of items ({self.num_items})"
            )
            rows = self._rows(user_id)
            queries = self.model.user_embeddings(rows)
            seen = tf.reduce_max(tf.concat([tf.gather(self.train_counts, rows), [0]], 0))
            fetch = tf.minimum(k + seen, self.num_items)
            scores, columns = self.retrieval(queries, k=fetch)
            keys = rows[:, tf.newaxis] * self.num_items + tf.cast(columns, tf.int64)
            found = tf.searchsorted(self.train_keys, tf.reshape(keys, [-1]), out_type=tf.int32)
            found = tf.minimum(found, tf.size(self.train_keys) - 1)
            excluded = tf.reshape(
                tf.equal(tf.gather(self.train_keys, found), tf.reshape(keys, [-1])),
                tf.shape(keys),
            )
            scores = tf.where(excluded, tf.constant(-np.inf, tf.float32), scores)
            top = tf.math.top_k(scores, k=k)
            top_columns = tf.gather(columns, top.indices, batch_dims=1)
            return {"top_ids": tf.gather(self.item_ids, top_columns), "top_scores": top.values}

        def signatures(self):
            """Signature dict for `export_saved_model`."""
            signatures = {"serving_default": self.serve}
            if self.model.has_visual_term:
                signatures["score_new_items"] = self.score_new_items
            return signatures

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

    return _BPRServing


def build_serving_module(model, user_ids, item_ids, train, default_k: int = DEFAULT_K):
    """Builds the TF Serving module of a trained VBPR/BPR-MF (see `_serving_class`).

    Args:
        model: trained `tfrec.models.vbpr.VBPR` or `tfrec.models.bpr_mf.BPRMF`.
        user_ids: int array `[num_users]`: dataset id of each user index.
        item_ids: int array `[num_items]`: dataset id of each item index.
        train: scipy sparse `[num_users, num_items]`: training interactions, excluded from
            recommendations.
        default_k: int. Recommendations when a request gives no ``k``. Default 100.

    Returns:
        A `tf.Module` with ``signatures()`` and ``warmup_requests()`` for `export_saved_model`.

    Raises:
        ValueError: if the id arrays do not match the model.
    """
    return _serving_class()(model, user_ids, item_ids, train, default_k)
