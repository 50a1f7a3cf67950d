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

DEFAULT_EPOCHS = 100  # an upper bound: early stopping on the validation AUC decides
TEST_KS = (50,)
# Beside the paper's "at most 5 training interactions", which few MovieLens test items meet.
EXTRA_COLD_START_THRESHOLDS = (20,)
DEFAULT_K = 100
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 8
# Default batch: the largest power of two in [MIN_BATCH, MAX_BATCH] that leaves at least
# MIN_STEPS_PER_EPOCH updates per epoch (ML-1M: 16,384; ML-100K: 1,024). Larger batches cut the
# per-step overhead that dominates BPR on CPU; with fewer than about 50 Adam updates an epoch,
# ML-100K needed many more epochs (README, "Training speed").
MIN_BATCH, MAX_BATCH, MIN_STEPS_PER_EPOCH = 1024, 16384, 50


def default_batch_size(num_interactions: int) -> int:
    """The CLI's default BPR batch for a training set of `num_interactions` triples."""
    batch = MIN_BATCH
    while batch * 2 <= MAX_BATCH and num_interactions / (batch * 2) >= MIN_STEPS_PER_EPOCH:
        batch *= 2
    return batch


def add_arguments(parser) -> None:
    common.add_common_arguments(
        parser, default_dataset="ml-1m", datasets=DATASETS, default_batch_size=None
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
    group.add_argument(
        "--optimizer",
        default="adam",
        choices=["adam", "lazy-adam"],
        help="adam: tf_keras Adam (every row's moments decay each step); lazy-adam: "
        "tfrec.optimizers.LazyAdam, which updates only the rows in the batch (faster on large "
        "catalogues, see README). Default adam.",
    )
    common.add_execution_arguments(
        parser, steps_per_execution=DEFAULT_STEPS_PER_EXECUTION, jit_compile=False
    )
    common.add_learning_rate_scaling_arguments(
        parser.add_argument_group("learning rate scaling (Goyal et al., 2017)")
    )


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
    from tfrec.optimizers import LazyAdam

    import tf_keras as keras

    epochs = common.positive_int("--epochs", args.epochs or DEFAULT_EPOCHS)
    if args.batch_size is not None:
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
    if args.batch_size is None:
        args.batch_size = default_batch_size(split.train.nnz)
        print(f"Batch size {args.batch_size} (default for {split.train.nnz} interactions).")
    train = bpr_triples(
        split.train, args.batch_size, seed=args.seed, candidate_items=split.warm_items
    )
    learning_rate = common.learning_rate_schedule(args, len(train))
    optimizer_class = LazyAdam if args.optimizer == "lazy-adam" else keras.optimizers.Adam
    model.compile(
        optimizer=optimizer_class(learning_rate=learning_rate), **common.compile_options(args)
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
    from tfrec.export.bpr_serving import BPRServing

    export_dir = args.export_dir or str(pathlib.Path("saved_models") / args.model.replace("-", "_"))
    serving = BPRServing(model, split.user_ids, split.item_ids, split.train, default_k=DEFAULT_K)
    return export_saved_model(
        serving,
        export_dir,
        signatures=serving.signatures(),
        warmup_requests=serving.warmup_requests(),
    )
